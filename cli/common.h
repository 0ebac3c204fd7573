/* common.h - the helpers every command shares: the one method-list parser,
   each method's parameters from the options (eval/settings.h does the
   work), folders (io/file.h), and the one progress bar. */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H
#include <stdio.h>
#include "attrib/attrib.h"
#include "cli/cli.h"
#include "eval/render.h"
#include "eval/settings.h"
#include "io/file.h"
#include "io/json.h"

/* "a,b,c" (or deflt when list is NULL) into methods; add_random appends
   "random" when absent (eval/settings.h method_settings_parse_list).
   Unknown names: an error listing them. 0 or 1. */
int methods_parse(const char *list, const char *deflt, int add_random, const AttribMethod ***out, int *n);
/* An -M entry may carry parameters for that method alone, in registry keys:
   "guidedig:steps=25:fraction=0.5:max_dist=1.0", "gradcam:layer=layer3".
   They override the global options (--steps ...) for that method only.
   method_prepare sets P's numeric parameters and layer for method m (the
   global options, then m's own); call it before each method runs. */
void method_prepare(AttribParams *P, const Opts *o, const AttribMethod *m);
/* The methods' parameters under these options and the -M entries (eval/settings.h). */
const MethodSettings *method_settings_of(const Opts *o);
/* The -M entry as given ("guidedig:steps=25"), or the method's name. */
const char *method_spec(const AttribMethod *m);
static inline int mkdir_p(const char *path) { return io_mkdir_p(path); }   /* io/file.h */
/* Parameters a method reads, as used (the option if given, else the
   default) into an open JSON object: {"steps": 25, "baseline": "black"}. */
void method_params_json(JsonWriter *w, const char *method, const Opts *o, const char *layer);
/* The parameters of these methods that differ from a method's default, for
   a figure's settings line: "non-default settings: steps 10, samples 3,
   stride 16, masks 500" (each parameter once, in the order the methods
   read them; --baseline and --layer when they are not the default). ""
   when every parameter is the default. */
void method_settings_line(char *buf, size_t n, const AttribMethod *const *ms, int n_methods, const Opts *o,
                          const char *default_layer);

typedef struct {
    int tty;
    long total, done, computed;
    double t0;
    long last_line;         /* last `done` reported when not a terminal */
    const char *what;
} ProgressBar;
void pbar_start(ProgressBar *pb, const char *what, long total);
/* One more item (computed = 0 for an item taken from a previous run). On a
   terminal: a redrawn bar with the rate and the time left; otherwise a
   line at every 5%. */
void pbar_step(ProgressBar *pb, int computed, const char *label);
/* Redraws the bar with a new label (the item and step in progress), on a terminal only. */
void pbar_show(ProgressBar *pb, const char *label);
void pbar_end(ProgressBar *pb);
/* The same bar as an attribution method's progress callback (P->progress,
   ctx a started ProgressBar whose `what` names the method): terminal only. */
void pbar_attrib_progress(void *ctx, long done, long total);
#endif
