/* nifti.h - NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz): header, voxel
   values exactly as nibabel's get_fdata() gives them, a 2-D slice in
   anatomical orientation for display, and an intensity window to [0,1].

   Usage:
     NiftiFile f; char err[512];
     if (nifti_parse(buf, len, "t1.nii.gz", 0, &f, err, sizeof err) < 0) puts(err);
     double *s; int h, w; NiftiSliceInfo si;
     nifti_slice(&f, "axial:40", 0, &s, &h, &w, &si, err, sizeof err);   // NULL spec: middle axial
     float *px = malloc(...); NiftiWindow win;
     nifti_window(s, (size_t)h * w, "auto", f.h.cal_min, f.h.cal_max, px, &win, err, sizeof err);
     free(s); nifti_free(&f);
   For a file read through image_load / image_load_opts (io/image.h) all of
   this happens inside; the options and the values used come back there.

   Files. Single-file NIfTI-1 (348-byte header, magic "n+1\0" at byte 344)
   and NIfTI-2 (540-byte header, magic "n+2\0\r\n\032\n" at byte 4; the
   last four bytes may also be zero, as nibabel accepts), raw or gzip
   (RFC 1952, concatenated members allowed). The byte order is the one in
   which sizeof_hdr reads 348 or 540; every field and voxel is swapped on
   read. Two-file NIfTI (.hdr/.img, magic "ni1"/"ni2") and Analyze are
   refused. The data start at vox_offset; vox_offset 0 means "right after
   the header and the 4-byte extension flag" (352 or 544), as nibabel reads
   it; a smaller non-zero offset is refused (nibabel raises too).
   Extensions between the header and vox_offset are skipped, not parsed.

   Data types: uint8, int8, int16, uint16, int32, uint32, int64, uint64,
   float32, float64. Others (binary, complex, RGB, RGBA, float128) are
   refused by name. bitpix is not checked (nibabel ignores it too).

   Values (nifti_voxel, nifti_read_f64): nibabel 5's get_fdata(), bit for
   bit: the stored value converted to double, then, if scl_slope is finite
   and non-zero, "v = v * slope" when slope != 1 and "v = v + inter" when
   inter != 0, each rounded to double (both scale factors are widened to
   double first; the NIfTI-1 ones are float32 in the file). A valid slope
   with a non-finite intercept is refused, as nibabel refuses it.

   Bounds (stb-style, before any allocation): sizeof_hdr and magic exact;
   dim[0] in 1..7; dim[1..dim[0]] >= 1 (zero and negative are refused);
   the data size (bytes per voxel times dim[1..7]) is computed with an
   overflow check per factor and must be at most max_bytes (NIFTI_MAX_BYTES by default),
   as must vox_offset; vox_offset + data must lie within the file (for
   .gz: within what the stream inflates to). Gzip is inflated only up to
   vox_offset + data bytes (the header-declared size, itself capped), in
   a buffer that grows as data arrives, so a small file declaring a huge
   volume costs no more memory than it really inflates to, and a stream
   that inflates past the declared size ("gzip bomb") is simply not read
   further. Every error names the file and the reason.

   Orientation (nifti_orientation): which anatomical direction each stored
   voxel axis i, j, k points to, as nibabel's aff2axcodes(img.affine):
   the affine is the sform if sform_code > 0, else the qform (quaternion,
   qfac = pixdim[0] == -1 ? -1 : 1) if qform_code > 0, else the voxel axes
   themselves are taken as R, A, S (NIfTI's "method 1"; nibabel would use
   Analyze's LAS default there). As nibabel's io_orientation: the 3x3 part
   with unit columns is replaced by its orthogonal polar factor (Newton
   iteration X = (X + X^-T) / 2, the same as nibabel's SVD U V^T), then
   for stored axes i, j, k in turn the world axis with the largest |entry|
   in that column is taken (first on ties) and its row zeroed. A singular
   or non-finite sform falls back to the qform, then to the voxel axes.

   Slices (nifti_slice): spec "AXIS[:INDEX]", AXIS axial | coronal |
   sagittal: the plane perpendicular to the superior, anterior or right
   axis whatever the storage order (the volume is viewed as nibabel's
   as_closest_canonical, i.e. RAS+). INDEX counts along that axis from
   inferior, posterior or left (0 .. n-1), default n / 2 (floor).
   Display convention: RADIOLOGICAL, the one of DICOM viewers:
     axial     rows anterior (top) -> posterior, columns patient right -> left
     coronal   rows superior (top) -> inferior,  columns patient right -> left
     sagittal  rows superior (top) -> inferior,  columns anterior -> posterior
   In numpy on the canonical array C (x, y, z) this is, for every plane,
   S.T[::-1, ::-1] with S = C[:, :, k] (axial), C[:, k, :] (coronal),
   C[k, :, :] (sagittal). Voxel sizes are not resampled. 4-D and higher:
   dims 4..7 are flattened into volumes 0 .. nvol-1 (nibabel's order).

   Window (nifti_window), into [0,1] as float:
     "C,W"     DICOM's linear VOI LUT (PS3.3 C.11.2.1.2.1), W >= 1:
               x <= c - 0.5 - (w-1)/2 -> 0;  x > c - 0.5 + (w-1)/2 -> 1;
               else (x - (c - 0.5)) / (w - 1) + 0.5
     "minmax"  (x - lo) / (hi - lo) with lo, hi the min and max of the
               slice's finite values (a constant slice gives 0)
     "auto"    (or NULL) cal_min, cal_max from the header when both are
               finite and cal_max > cal_min ("cal": x <= lo -> 0, x >= hi
               -> 1, else (x - lo) / (hi - lo)), otherwise "minmax".
   NaN voxels become 0, -inf 0, +inf 1; every result is clamped to [0,1]
   (differences near DBL_MAX may overflow otherwise). The window used is reported: kind, lo and hi (the
   values mapped to 0 and 1) and the DICOM centre/width that reproduce it
   (center = (lo + hi) / 2 + 0.5, width = hi - lo + 1).

   Functions returning int give 0 on success and -1 on error. */
#ifndef IO_NIFTI_H
#define IO_NIFTI_H

#include <stddef.h>
#include <stdint.h>

#define NIFTI_MAX_BYTES ((size_t)1 << 30)   /* default cap on vox_offset and on the data (1 GiB) */

typedef struct {
    int version;           /* 1 or 2 */
    int swapped;           /* 1 if stored big-endian (on this little-endian reader) */
    int ndim;              /* dim[0], 1..7 */
    int64_t dim[8];        /* dim[1..ndim] >= 1; 1 beyond ndim */
    int datatype;          /* NIfTI code: 2 uint8, 4 int16, 8 int32, 16 float32, 64 float64, ... */
    double pixdim[8];
    int64_t vox_offset;    /* where the data start (0 in the file -> 352 or 544) */
    double scl_slope, scl_inter;   /* as stored */
    int scaled;            /* slope finite and != 0: scaling applies */
    double cal_min, cal_max;
    int qform_code, sform_code;
    double quatern[3], qoffset[3];   /* b, c, d; x, y, z */
    double srow[3][4];
    int64_t nvox;          /* voxels per 3-D volume: dim1 * dim2 * dim3 */
    int64_t nvol;          /* volumes: dim4 * ... * dim7 */
    int bytes_per_voxel;
} NiftiHeader;

typedef struct {
    NiftiHeader h;
    const uint8_t *data;   /* first voxel (inside the caller's buffer, or owned) */
    size_t data_bytes;     /* nvox * nvol * bytes_per_voxel */
    uint8_t *owned;        /* inflated file for .nii.gz, else NULL */
} NiftiFile;

typedef struct {
    int axis;              /* 0 sagittal, 1 coronal, 2 axial (the canonical axis the plane is perpendicular to) */
    int index, count;      /* slice index along that axis (0 = left/posterior/inferior) and how many there are */
    int volume, nvol;
    char axcodes[4];       /* where stored axes i, j, k point, e.g. "LAS" */
    const char *orient_source;   /* "sform", "qform" or "voxel" */
} NiftiSliceInfo;

typedef struct {
    char kind[16];         /* "center-width", "minmax" or "cal" */
    double lo, hi;         /* values mapped to 0 and 1 */
    double center, width;  /* the equivalent DICOM window */
} NiftiWindow;

/* 1 if buf starts like a NIfTI-1/2 single file (either byte order) or a
   gzip stream (which may hold one; nifti_parse says), else 0. */
int nifti_sniff(const uint8_t *buf, size_t len);
/* Parses a .nii or .nii.gz image held in buf (len bytes). For a raw file
   f->data points into buf, which must outlive f. max_bytes caps vox_offset
   and the data size (0: NIFTI_MAX_BYTES). name is used in messages. */
int nifti_parse(const uint8_t *buf, size_t len, const char *name, size_t max_bytes,
                NiftiFile *f, char *err, size_t errlen);
void nifti_free(NiftiFile *f);
/* "uint8", "int16", ..., "complex64", ... or "unknown". */
const char *nifti_type_name(int datatype);
/* Voxel i (linear, nibabel's Fortran order over all dims) as get_fdata(). */
double nifti_voxel(const NiftiFile *f, size_t i);
/* n voxels from linear index first into out (n doubles). */
void nifti_read_f64(const NiftiFile *f, size_t first, size_t n, double *out);
/* Stored axis a (0..2) points to world axis axis_of[a] (0 R, 1 A, 2 S)
   with sign sign_of[a] (+1 towards R/A/S, -1 towards L/P/I); codes gets
   the 3 letters and a NUL. Returns "sform", "qform" or "voxel". */
const char *nifti_orientation(const NiftiHeader *h, int axis_of[3], int sign_of[3], char codes[4]);
/* The display slice (radiological, see above) of volume vol: *out is a
   malloc'd (*h, *w) array of doubles. spec NULL = "axial" (middle). */
int nifti_slice(const NiftiFile *f, const char *spec, int vol, double **out, int *h, int *w,
                NiftiSliceInfo *info, char *err, size_t errlen);
/* x (n values) -> out in [0,1] with window spec "C,W", "minmax", "auto"
   or NULL (= "auto", which uses cal_min/cal_max when valid). */
int nifti_window(const double *x, size_t n, const char *spec, double cal_min, double cal_max,
                 float *out, NiftiWindow *used, char *err, size_t errlen);
#endif
