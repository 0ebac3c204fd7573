/* pic_io.h - the files of a single PIC measurement (`salient pic`): a
   saliency map and a random mask read from .npy files at the model's input
   size, and one PIC curve written step by step as JSON. Errors follow
   engine/error.h (err_fail); `what` names the file's role in the message
   ("--map", "--random-mask"). */
#ifndef EVAL_PIC_IO_H
#define EVAL_PIC_IO_H
#include <stddef.h>
#include <stdint.h>
#include "eval/pic.h"
#include "io/json.h"

/* An (S,S) array, also given as (1,S,S) or (1,1,S,S), as S*S floats with
   every value finite (malloc'd). NULL with the reason in err. */
float *pic_map_read(const char *path, int S, const char *what, char *err, size_t errlen);
/* An (S,S) uint8 or bool array as S*S bytes of 0 or 1 (malloc'd). NULL
   with the reason in err. */
uint8_t *pic_mask_read(const char *path, int S, const char *what, char *err, size_t errlen);
/* key: {"auc", "skipped" (null or "reason: detail"), "points": [{threshold,
   info, pred, x, y}...], "original": {info, pred}, "blurred": {info, pred}}. */
void pic_curve_json(JsonWriter *w, const char *key, const PicCurve *pc);
#endif
