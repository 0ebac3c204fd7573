/* safetensors.c - safetensors reader with full validation of the untrusted
   header (see safetensors.h for the format and every rule checked). */
#include "weights/safetensors.h"
#include "engine/error.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file.h"

#define ST_MAX_INT 9007199254740992.0   /* 2^53: JSON numbers above it are not exact */

static const struct { const char *name; StDtype t; int bits; } st__dtypes[] = {
    {"F32", ST_F32, 32}, {"F16", ST_F16, 16}, {"BF16", ST_BF16, 16}, {"I64", ST_I64, 64},
    {"I32", ST_I32, 32}, {"U8", ST_U8, 8}, {"F64", ST_F64, 64}, {"BOOL", ST_BOOL, 8},
    {"I8", ST_I8, 8}, {"I16", ST_I16, 16}, {"U16", ST_U16, 16}, {"U32", ST_U32, 32},
    {"U64", ST_U64, 64}, {"C64", ST_C64, 64}, {"F8_E5M2", ST_F8_E5M2, 8},
    {"F8_E4M3", ST_F8_E4M3, 8}, {"F8_E8M0", ST_F8_E8M0, 8}, {"F8_E4M3FNUZ", ST_F8_E4M3FNUZ, 8},
    {"F8_E5M2FNUZ", ST_F8_E5M2FNUZ, 8}, {"F6_E2M3", ST_F6_E2M3, 6}, {"F6_E3M2", ST_F6_E3M2, 6},
    {"F4", ST_F4, 4},
};
_Static_assert(sizeof st__dtypes / sizeof st__dtypes[0] == ST_DTYPE_COUNT,
               "every StDtype needs a row in st__dtypes (in enum order)");

const char *st_dtype_name(StDtype t) {
    return (unsigned)t < ST_DTYPE_COUNT ? st__dtypes[t].name : "?";
}

int st_dtype_bits(StDtype t) {
    return (unsigned)t < ST_DTYPE_COUNT ? st__dtypes[t].bits : 0;
}

/* A name made safe for a message: non-printable bytes -> '?', at most 80 chars. */
static const char *st__q(const char *name, char buf[96]) {
    size_t j = 0, i = 0;
    for (; name[i] && j < 80; i++) {
        unsigned char c = (unsigned char)name[i];
        buf[j++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    if (name[i]) { buf[j++] = '.'; buf[j++] = '.'; buf[j++] = '.'; }
    buf[j] = 0;
    return buf;
}

/* Reads a JSON value that must be an integer in [0, 2^53). Writes a
   description of what was wrong into why on failure. */
static int st__uint(const JsonValue *v, uint64_t *out, char *why, size_t n) {
    if (json_type(v) != JSON_NUMBER) {
        snprintf(why, n, "is a %s, expected a non-negative integer", json_type_name(json_type(v)));
        return -1;
    }
    double d = json_number(v);
    if (!(d >= 0) || d != floor(d)) { snprintf(why, n, "= %.17g is not a non-negative integer", d); return -1; }
    if (d >= ST_MAX_INT) { snprintf(why, n, "= %.17g is too large (at most 2^53 - 1)", d); return -1; }
    *out = (uint64_t)d;
    return 0;
}

static void st__shape_str(const StTensor *t, char *buf, size_t n) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* Validates one tensor entry against the data section (data_len bytes). */
static int st__entry(const char *name, const JsonValue *e, size_t data_len, StTensor *t,
                     char *err, size_t errlen) {
    char qn[96], why[96];
    st__q(name, qn);
    if (json_type(e) != JSON_OBJECT)
        return err_fail(err, errlen, "tensor '%s': entry must be an object, found %s", qn, json_type_name(json_type(e)));

    const JsonValue *dt = json_get(e, "dtype");
    if (!dt) return err_fail(err, errlen, "tensor '%s': missing \"dtype\"", qn);
    if (json_type(dt) != JSON_STRING)
        return err_fail(err, errlen, "tensor '%s': \"dtype\" must be a string, found %s", qn, json_type_name(json_type(dt)));
    int found = 0;
    for (int k = 0; k < ST_DTYPE_COUNT; k++)
        if (strcmp(json_string(dt), st__dtypes[k].name) == 0) { t->dtype = st__dtypes[k].t; found = 1; break; }
    if (!found) {
        char qd[96];
        return err_fail(err, errlen, "tensor '%s': unknown dtype '%s'", qn, st__q(json_string(dt), qd));
    }

    const JsonValue *sh = json_get(e, "shape");
    if (!sh) return err_fail(err, errlen, "tensor '%s': missing \"shape\"", qn);
    if (json_type(sh) != JSON_ARRAY)
        return err_fail(err, errlen, "tensor '%s': \"shape\" must be an array, found %s", qn, json_type_name(json_type(sh)));
    if (json_len(sh) > ST_MAX_DIMS)
        return err_fail(err, errlen, "tensor '%s': shape has %zu dimensions, at most %d supported", qn, json_len(sh), ST_MAX_DIMS);
    t->ndim = (int)json_len(sh);
    size_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        uint64_t d;
        if (st__uint(json_at(sh, (size_t)i), &d, why, sizeof why) < 0)
            return err_fail(err, errlen, "tensor '%s': shape[%d] %s", qn, i, why);
        t->shape[i] = (int64_t)d;
        if (d != 0 && numel > SIZE_MAX / d)
            return err_fail(err, errlen, "tensor '%s': shape has too many elements (size overflow at dimension %d)", qn, i);
        numel *= (size_t)d;
    }
    t->numel = numel;
    /* bytes = numel * bits / 8, with numel * bits checked against SIZE_MAX. */
    size_t bits = (size_t)st_dtype_bits(t->dtype);
    if (numel > SIZE_MAX / bits)
        return err_fail(err, errlen, "tensor '%s': %zu elements of %s overflow the size type", qn, numel, st_dtype_name(t->dtype));
    if ((numel * bits) % 8 != 0)
        return err_fail(err, errlen, "tensor '%s': %zu elements of %s do not fill whole bytes", qn, numel, st_dtype_name(t->dtype));
    size_t nbytes = numel * bits / 8;

    const JsonValue *off = json_get(e, "data_offsets");
    if (!off) return err_fail(err, errlen, "tensor '%s': missing \"data_offsets\"", qn);
    if (json_type(off) != JSON_ARRAY || json_len(off) != 2)
        return err_fail(err, errlen, "tensor '%s': \"data_offsets\" must be an array [begin, end], found %s of %zu",
                        qn, json_type_name(json_type(off)), json_len(off));
    uint64_t b, en;
    if (st__uint(json_at(off, 0), &b, why, sizeof why) < 0)
        return err_fail(err, errlen, "tensor '%s': data_offsets[0] %s", qn, why);
    if (st__uint(json_at(off, 1), &en, why, sizeof why) < 0)
        return err_fail(err, errlen, "tensor '%s': data_offsets[1] %s", qn, why);
    if (b > en)
        return err_fail(err, errlen, "tensor '%s': data_offsets begin %llu > end %llu", qn,
                        (unsigned long long)b, (unsigned long long)en);
    if (en > data_len)
        return err_fail(err, errlen, "tensor '%s': data_offsets end %llu is beyond the data section of %zu bytes (truncated file?)",
                        qn, (unsigned long long)en, data_len);
    t->begin = (size_t)b;
    t->end = (size_t)en;
    if (t->end - t->begin != nbytes) {
        char ss[200];
        st__shape_str(t, ss, sizeof ss);
        return err_fail(err, errlen, "tensor '%s': data_offsets span %zu bytes but shape %s of %s needs %zu",
                        qn, t->end - t->begin, ss, st_dtype_name(t->dtype), nbytes);
    }
    return 0;
}

static int st__check_meta(const JsonValue *m, char *err, size_t errlen) {
    if (json_type(m) != JSON_OBJECT)
        return err_fail(err, errlen, "safetensors: \"__metadata__\" must be an object of strings, found %s",
                        json_type_name(json_type(m)));
    for (size_t i = 0; i < json_len(m); i++)
        if (json_type(json_at(m, i)) != JSON_STRING) {
            char qk[96];
            return err_fail(err, errlen, "safetensors: \"__metadata__\" value of '%s' must be a string, found %s",
                            st__q(json_key_at(m, i), qk), json_type_name(json_type(json_at(m, i))));
        }
    return 0;
}

typedef struct { size_t begin, end; int idx; } StRange;

static int st__cmp_range(const void *a, const void *b) {
    const StRange *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx - y->idx;
}

/* Byte ranges must not intersect: sorted by begin, each non-empty range
   must start at or after the furthest end seen so far. */
static int st__check_overlap(const StFile *f, char *err, size_t errlen) {
    if (f->n < 2) return 0;
    StRange *r = malloc((size_t)f->n * sizeof *r);
    if (!r) return err_fail(err, errlen, "safetensors: out of memory");
    for (int i = 0; i < f->n; i++) r[i] = (StRange){f->t[i].begin, f->t[i].end, i};
    qsort(r, (size_t)f->n, sizeof *r, st__cmp_range);
    size_t far = 0;
    int far_idx = -1, rc = 0;
    for (int i = 0; i < f->n; i++) {
        if (r[i].begin == r[i].end) continue;
        if (far_idx >= 0 && r[i].begin < far) {
            char qa[96], qb[96];
            const StTensor *a = &f->t[far_idx], *b = &f->t[r[i].idx];
            rc = err_fail(err, errlen, "tensors '%s' [%zu, %zu) and '%s' [%zu, %zu) overlap in the data section",
                          st__q(a->name, qa), a->begin, a->end, st__q(b->name, qb), b->begin, b->end);
            break;
        }
        if (r[i].end > far || far_idx < 0) { far = r[i].end; far_idx = r[i].idx; }
    }
    free(r);
    return rc;
}

typedef struct { const char *name; size_t idx; } StNameIdx;

static int st__cmp_name(const void *a, const void *b) {
    return strcmp(((const StNameIdx *)a)->name, ((const StNameIdx *)b)->name);
}

/* Sorted name index for st_find; rejects duplicate names. */
static int st__index_names(StFile *f, char *err, size_t errlen) {
    size_t n = (size_t)f->n;
    f->by_name = malloc((n ? n : 1) * sizeof(size_t));
    StNameIdx *v = malloc((n ? n : 1) * sizeof *v);
    if (!f->by_name || !v) { free(v); return err_fail(err, errlen, "safetensors: out of memory"); }
    for (size_t i = 0; i < n; i++) v[i] = (StNameIdx){f->t[i].name, i};
    qsort(v, n, sizeof *v, st__cmp_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i - 1].name, v[i].name) == 0) {
            char q[96];
            rc = err_fail(err, errlen, "safetensors: duplicate tensor name '%s'", st__q(v[i].name, q));
            break;
        }
        f->by_name[i] = v[i].idx;
    }
    free(v);
    return rc;
}

int st_parse(const uint8_t *buf, size_t len, StFile *f, char *err, size_t errlen) {
    if (!err) errlen = 0;
    memset(f, 0, sizeof *f);
    if (!buf || len < 8)
        return err_fail(err, errlen, "safetensors: file of %zu bytes is shorter than the 8-byte header length", buf ? len : 0);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > ST_MAX_HEADER)
        return err_fail(err, errlen, "safetensors: header length %llu is absurd (limit %llu bytes); not a safetensors file?",
                        (unsigned long long)hlen, (unsigned long long)ST_MAX_HEADER);
    if (hlen > len - 8)
        return err_fail(err, errlen, "safetensors: header length %llu runs past the end of the %zu-byte file (truncated?)",
                        (unsigned long long)hlen, len);
    char jerr[256];
    JsonValue *root = json_parse((const char *)buf + 8, (size_t)hlen, jerr, sizeof jerr);
    if (!root) return err_fail(err, errlen, "safetensors header: %s", jerr);
    f->meta = root;
    if (json_type(root) != JSON_OBJECT) {
        err_fail(err, errlen, "safetensors header: expected a JSON object, found %s", json_type_name(json_type(root)));
        goto fail;
    }
    f->data = buf + 8 + hlen;
    f->data_len = len - 8 - (size_t)hlen;
    size_t members = json_len(root);
    f->t = calloc(members ? members : 1, sizeof *f->t);
    if (!f->t) { err_fail(err, errlen, "safetensors: out of memory"); goto fail; }
    for (size_t i = 0; i < members; i++) {
        const char *key = json_key_at(root, i);
        const JsonValue *val = json_at(root, i);
        if (strcmp(key, "__metadata__") == 0) {
            if (st__check_meta(val, err, errlen) < 0) goto fail;
            continue;
        }
        StTensor *t = &f->t[f->n];
        if (st__entry(key, val, f->data_len, t, err, errlen) < 0) goto fail;
        t->name = strdup(key);
        if (!t->name) { err_fail(err, errlen, "safetensors: out of memory"); goto fail; }
        f->n++;
    }
    if (st__check_overlap(f, err, errlen) < 0 || st__index_names(f, err, errlen) < 0) goto fail;
    return 0;
fail:
    st_close(f);
    return -1;
}

/* What st_open owns: a read-only mapping of the file, or a heap copy. */
typedef struct { void *base; size_t len; int mapped; } StOwned;

int st_open(const char *path, StFile *f, char *err, size_t errlen) {
    if (!err) errlen = 0;
    memset(f, 0, sizeof *f);
    if (!path) return err_fail(err, errlen, "safetensors: no file name given");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_fail(err, errlen, "safetensors: cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_fail(err, errlen, "safetensors: cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_fail(err, errlen, "safetensors: '%s' is not a regular file", path);
    }
    StOwned *own = calloc(1, sizeof *own);
    if (!own) { close(fd); return err_fail(err, errlen, "safetensors: out of memory"); }
    own->len = (size_t)st.st_size;
    if (own->len > 0) {
        void *m = mmap(NULL, own->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) { own->base = m; own->mapped = 1; }
    }
    close(fd);
    if (!own->mapped) {   /* empty file or no mmap: read it instead */
        uint8_t *b; size_t n;
        char why[400];
        if (io_read_file(path, SIZE_MAX - 1, &b, &n, why, sizeof why) < 0) {
            free(own);
            return err_fail(err, errlen, "safetensors: %s", why);
        }
        own->base = b;
        own->len = n;
    }
    char why[512];
    if (st_parse(own->base, own->len, f, why, sizeof why) < 0) {
        if (own->mapped) munmap(own->base, own->len); else free(own->base);
        free(own);
        return err_fail(err, errlen, "'%s': %s", path, why);
    }
    f->owned = own;
    return 0;
}

const StTensor *st_find(const StFile *f, const char *name) {
    if (!f || !name || !f->by_name) return NULL;
    size_t lo = 0, hi = (size_t)f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const StTensor *t = &f->t[f->by_name[mid]];
        int c = strcmp(t->name, name);
        if (c == 0) return t;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
    if (exp == 0) {                      /* zero or subnormal: man * 2^-24, exact in float */
        float v = (float)man * 0x1p-24f;
        memcpy(&bits, &v, 4);
        bits |= sign;
    } else if (exp == 31) {              /* inf or NaN, payload kept */
        bits = sign | 0x7F800000u | (man << 13);
    } else {                             /* normal: rebias 15 -> 127 */
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float st_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int st_read_f32(const StFile *f, const StTensor *t, float *dst, size_t n, char *err, size_t errlen) {
    if (!err) errlen = 0;
    if (!f || !t || !f->t || t < f->t || t >= f->t + f->n)
        return err_fail(err, errlen, "st_read_f32: tensor does not belong to this file");
    char qn[96];
    st__q(t->name, qn);
    if (n != t->numel)
        return err_fail(err, errlen, "tensor '%s': caller buffer holds %zu floats but the tensor has %zu elements", qn, n, t->numel);
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return err_fail(err, errlen, "tensor '%s': dtype %s cannot be read as float32 (only F32, F16, BF16)",
                        qn, st_dtype_name(t->dtype));
    size_t item = (size_t)st_dtype_bits(t->dtype) / 8;
    if (t->end > f->data_len || t->begin > t->end || t->end - t->begin != n * item)
        return err_fail(err, errlen, "tensor '%s': byte range does not match the file", qn);
    if (n && !dst) return err_fail(err, errlen, "tensor '%s': no destination buffer", qn);
    const uint8_t *p = f->data + t->begin;
    if (t->dtype == ST_F32) {
        if (n) memcpy(dst, p, n * 4);   /* little-endian host (x86-64) */
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        dst[i] = t->dtype == ST_F16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
    }
    return 0;
}

const char *st_meta(const StFile *f, const char *key) {
    if (!f) return NULL;
    return json_string(json_get(json_get(f->meta, "__metadata__"), key));
}

void st_close(StFile *f) {
    if (!f) return;
    if (f->t)
        for (int i = 0; i < f->n; i++) free(f->t[i].name);
    free(f->t);
    free(f->by_name);
    json_free(f->meta);
    StOwned *own = f->owned;
    if (own) {
        if (own->mapped) munmap(own->base, own->len); else free(own->base);
        free(own);
    }
    memset(f, 0, sizeof *f);
}
