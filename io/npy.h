/* npy.h - NumPy .npy files (format of numpy.lib.format, NEP 1): read
   versions 1.0, 2.0 and 3.0; write version 1.0 byte-for-byte as numpy.save.

   Usage:
     NpyArray a; char err[256];
     if (npy_read("x.npy", &a, err, sizeof err) < 0) { puts(err); ... }
     float *x = npy_to_f32(&a);            // any dtype -> float32 copy (free())
     npy_free(&a);
     int64_t shape[2] = {2, 3};
     npy_write_f32("y.npy", data, 2, shape, err, sizeof err);

   File layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0,
   uint32 LE for 2.0/3.0), the header (a Python dict literal ending in
   '\n', padded with spaces), then the raw C-order data.
   Reading is strict: the dict must have exactly the keys 'descr',
   'fortran_order' and 'shape' (any order, trailing comma allowed); descr one
   of '<f4' '<f8' '|u1' '|b1' '<i4' '<i8' (for one-byte types '<', '>', '|'
   or no order char are all accepted, e.g. '<u1', 'u1'); multi-byte
   big-endian types and fortran_order True are rejected with a message
   saying so; ndim <= NPY_MAX_DIMS; numel * itemsize is computed with
   overflow checks and must equal the bytes after the header exactly
   (truncated or trailing data is an error).
   Writing mirrors numpy 1.24's _write_array_header: the dict
   "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" followed by
   21 - len(repr(shape[0])) spaces when ndim > 0 (room to grow axis 0), then
   spaces so that magic + length + header + '\n' is a multiple of 64 bytes
   (1..64 spaces, as numpy's padlen), then '\n'.
   Functions return 0 on success and -1 on error with a message in err. */
#ifndef IO_NPY_H
#define IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef enum { NPY_F32, NPY_F64, NPY_U8, NPY_BOOL, NPY_I32, NPY_I64 } NpyDtype;

typedef struct {
    NpyDtype dtype;
    int ndim;                    /* 0 for a scalar array */
    int64_t shape[NPY_MAX_DIMS];
    size_t numel;
    void *data;                  /* numel * itemsize bytes, malloc'd (never NULL on success) */
} NpyArray;

int npy_read(const char *path, NpyArray *out, char *err, size_t errlen);
int npy_parse(const uint8_t *buf, size_t len, NpyArray *out, char *err, size_t errlen);
float *npy_to_f32(const NpyArray *a);          /* malloc'd; NULL on bad input / no memory */
/* A batch of network inputs: an (N, C, H, W) array of any number type
   with N in [1, 65536] and H, W in [8, 4096], as float32 (malloc'd); its
   sizes into n, h, w. NULL with a message naming the file in err. */
float *npy_read_nchw_f32(const char *path, int C, int *n, int *h, int *w, char *err, size_t errlen);
size_t npy_itemsize(NpyDtype t);
const char *npy_dtype_name(NpyDtype t);        /* "<f4", "|u1", ... */
int npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                  char *err, size_t errlen);
int npy_write_u8(const char *path, const uint8_t *data, int ndim, const int64_t *shape,
                 char *err, size_t errlen);
void npy_free(NpyArray *a);
#endif
