/* safetensors.h - reader of the safetensors format (huggingface/safetensors),
   validated as untrusted input.

   Format: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON (an
   object; writers pad it with spaces to a multiple of 8), then the data.
   Each member of the object is a tensor
       "name": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
   with begin/end byte offsets relative to the start of the data (the byte
   after the header), C order, little-endian; except the optional member
   "__metadata__", an object of string -> string.

   Usage:
     StFile f; char err[512];
     if (st_open("model.safetensors", &f, err, sizeof err) < 0) { puts(err); ... }
     const StTensor *t = st_find(&f, "conv1.weight");
     float *w = malloc(t->numel * sizeof *w);
     st_read_f32(&f, t, w, t->numel, err, sizeof err);   // F32, F16, BF16 -> float
     printf("%s\n", st_meta(&f, "format") ? st_meta(&f, "format") : "-");
     st_close(&f);

   Validation (st_parse; every message names the tensor where there is one):
   file shorter than 8 bytes; N > ST_MAX_HEADER (100,000,000, the reference
   implementation's limit) or beyond the file; header not a JSON object
   (the JSON parser also rejects duplicate keys, invalid UTF-8, depth > 64);
   an entry that is not an object, or whose "dtype" is not a string, "shape"
   not an array of at most ST_MAX_DIMS integers in [0, 2^53), "data_offsets"
   not an array of two integers in [0, 2^53); unknown dtype; numel and
   numel * bits / 8 computed with overflow checks (sub-byte dtypes must fill
   whole bytes); begin > end; end beyond the data; end - begin !=
   numel * itemsize; two tensors whose byte ranges intersect (ranges sorted
   by begin; empty tensors intersect nothing); "__metadata__" not an object
   of strings. Unknown keys inside an entry are ignored; gaps between
   tensors and bytes after the last one are allowed.
   Tensor order in f->t is the header's order. Data pointers are never
   dereferenced unaligned: st_read_f32 copies bytes with memcpy.

   Lifetime: st_parse keeps pointers into buf (f->data), so buf must outlive
   f; st_open owns its mapping (f->owned). st_close(f) frees either. */
#ifndef WEIGHTS_SAFETENSORS_H
#define WEIGHTS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "io/json.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER ((uint64_t)100000000)

/* Every dtype name the format defines (safetensors' Dtype enum). */
typedef enum {
    ST_F32, ST_F16, ST_BF16, ST_I64, ST_I32, ST_U8, ST_F64, ST_BOOL, ST_I8, ST_I16, ST_U16,
    ST_U32, ST_U64, ST_C64,
    ST_F8_E5M2, ST_F8_E4M3, ST_F8_E8M0, ST_F8_E4M3FNUZ, ST_F8_E5M2FNUZ,
    ST_F6_E2M3, ST_F6_E3M2, ST_F4,
    ST_DTYPE_COUNT
} StDtype;

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    size_t begin, end;   /* byte range in f->data (relative to the data start) */
} StTensor;

typedef struct {
    StTensor *t;
    int n;
    JsonValue *meta;          /* the whole parsed header object; st_meta reads its "__metadata__" */
    const uint8_t *data;      /* start of the data section */
    size_t data_len;
    void *owned;              /* st_open's mapping or buffer, NULL after st_parse */
    size_t *by_name;          /* tensor indices sorted by name, for st_find */
} StFile;

int st_parse(const uint8_t *buf, size_t len, StFile *f, char *err, size_t errlen);
int st_open(const char *path, StFile *f, char *err, size_t errlen);
const StTensor *st_find(const StFile *f, const char *name);     /* NULL if absent */
int st_read_f32(const StFile *f, const StTensor *t, float *dst, size_t n, char *err, size_t errlen);
const char *st_meta(const StFile *f, const char *key);          /* NULL if absent */
void st_close(StFile *f);

const char *st_dtype_name(StDtype t);     /* "F32", "BF16", ... */
int st_dtype_bits(StDtype t);             /* 4, 6, 8, 16, 32 or 64 */
float st_f16_to_f32(uint16_t h);          /* IEEE binary16 -> binary32, exact */
float st_bf16_to_f32(uint16_t h);         /* bfloat16 -> binary32, exact */
#endif
