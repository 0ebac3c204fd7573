/* dataset.c - listing an evaluation's images from class folders or a CSV
   (see dataset.h). */
#include "io/dataset.h"
#include "io/csv.h"
#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DATASET_MAX_CSV ((size_t)1 << 30)
#define DATASET_MAX_DEPTH 16

static int is_dir(const char *p) { struct stat st; return !stat(p, &st) && S_ISDIR(st.st_mode); }
static int is_file(const char *p) { struct stat st; return !stat(p, &st) && S_ISREG(st.st_mode); }

static int ends_with_ci(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

static int is_image_name(const char *n) {
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".pgm", ".ppm", ".nii", ".nii.gz", ".dcm"};
    if (ends_with_ci(n, ".mask.png")) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) if (ends_with_ci(n, ext[i])) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of a folder's entries (no "." / ".." / hidden). NULL on error. */
static char **list_dir(const char *path, int *n) {
    DIR *d = opendir(path);
    *n = 0;
    if (!d) return NULL;
    int cap = 16, k = 0;
    char **v = malloc(sizeof *v * cap);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (k == cap) {
            char **q = realloc(v, sizeof *v * (cap *= 2));
            if (!q) { for (int i = 0; i < k; i++) free(v[i]); free(v); v = NULL; break; }
            v = q;
        }
        if (!(v[k] = strdup(e->d_name))) break;
        k++;
    }
    closedir(d);
    if (!v) return NULL;
    qsort(v, k, sizeof *v, cmp_str);
    *n = k;
    return v;
}

static void free_list(char **v, int n) { for (int i = 0; i < n; i++) free(v[i]); free(v); }

static int push_item(Dataset *d, int *cap, const char *path, const char *name, int label) {
    if (d->n == *cap) {
        int c = *cap ? *cap * 2 : 256;
        DataItem *q = realloc(d->v, sizeof *q * c);
        if (!q) return -1;
        d->v = q; *cap = c;
    }
    DataItem *it = &d->v[d->n];
    it->path = strdup(path);
    it->name = strdup(name);
    it->label = label;
    it->index = d->n;
    if (!it->path || !it->name) { free(it->path); free(it->name); return -1; }
    d->n++;
    return 0;
}

/* Adds the images below dir (recursively), names relative to the data root. */
static int walk(Dataset *d, int *cap, const char *dir, const char *rel, int label, int depth, char *err, size_t errlen) {
    if (depth > DATASET_MAX_DEPTH) { err_fail(err, errlen, "%s: folders nested deeper than %d", dir, DATASET_MAX_DEPTH); return -1; }
    int n;
    char **names = list_dir(dir, &n);
    if (!names) { err_fail(err, errlen, "cannot list %s: %s", dir, strerror(errno)); return -1; }
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        char path[4096], name[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path ||
            snprintf(name, sizeof name, "%s/%s", rel, names[i]) >= (int)sizeof name) {
            err_fail(err, errlen, "%s/%s: path too long", dir, names[i]);
            rc = -1;
            break;
        }
        if (is_dir(path)) rc = walk(d, cap, path, name, label, depth + 1, err, errlen);
        else if (is_image_name(names[i]) && is_file(path)) {
            if (push_item(d, cap, path, name, label)) { err_fail(err, errlen, "out of memory listing %s", dir); rc = -1; }
        } else if (!ends_with_ci(names[i], ".mask.png")) d->ignored++;
    }
    free_list(names, n);
    return rc;
}

static int find_name(char *const *v, int n, const char *s) {
    for (int i = 0; i < n; i++) if (v[i] && !strcmp(v[i], s)) return i;
    return -1;
}

static void join_names(char *out, size_t n, char *const *v, int k) {
    size_t p = 0;
    out[0] = 0;
    for (int i = 0; i < k && p + 8 < n; i++) {
        int w = snprintf(out + p, n - p, "%s%s", i ? ", " : "", v[i] ? v[i] : "?");
        if (w < 0 || (size_t)w >= n - p) { snprintf(out + (n > 5 ? n - 5 : 0), 5, "..."); break; }
        p += w;
    }
}

static int set_classes(Dataset *d, char *const *names, int n) {
    d->classes = calloc(n + 1, sizeof(char *));
    if (!d->classes) return -1;
    d->n_classes = n;
    for (int i = 0; i < n; i++) if (names[i] && !(d->classes[i] = strdup(names[i]))) return -1;
    return 0;
}

static int open_folder(Dataset *d, const char *root, char *const *labels, int n_labels, int K, char *err, size_t errlen) {
    int n_all;
    char **all = list_dir(root, &n_all);
    if (!all) { err_fail(err, errlen, "cannot list %s: %s", root, strerror(errno)); return -1; }
    char **cls = malloc(sizeof(char *) * (n_all + 1));
    int nc = 0, cap = 0, rc = 0;
    for (int i = 0; i < n_all; i++) {
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", root, all[i]) < (int)sizeof p && is_dir(p)) cls[nc++] = all[i];
    }
    if (!nc) {
        err_fail(err, errlen, "%s: no class subfolders (expected DATA/<class>/<image>, or a CSV of path,label)", root);
        rc = -1;
    }
    if (!rc) rc = set_classes(d, n_labels ? labels : cls, n_labels ? n_labels : nc) ? -1 : 0;
    for (int c = 0; c < nc && !rc; c++) {
        int label = n_labels ? find_name(labels, n_labels, cls[c]) : c;
        if (label < 0) {
            char known[512];
            join_names(known, sizeof known, labels, n_labels);
            err_fail(err, errlen, "%s/%s: the class folder is not one of the model's class names (%s); rename it or "
                     "give --labels FILE", root, cls[c], known);
            rc = -1;
            break;
        }
        if (label >= K) {
            err_fail(err, errlen, "%s/%s: class index %d, but the model has %d classes", root, cls[c], label, K);
            rc = -1;
            break;
        }
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", root, cls[c]) >= (int)sizeof p) {
            err_fail(err, errlen, "%s: path too long", cls[c]);
            rc = -1;
            break;
        }
        rc = walk(d, &cap, p, cls[c], label, 0, err, errlen);
    }
    free(cls);
    free_list(all, n_all);
    if (!rc && !d->n) { err_fail(err, errlen, "%s: no images in the class folders", root); rc = -1; }
    return rc;
}

static int parse_index(const char *s, long *out) {
    if (!*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || s[0] == '+' || s[0] == ' ') return -1;
    *out = v;
    return 0;
}

static int open_csv(Dataset *d, const char *csv, const char *root, char *const *labels, int n_labels, int K, char *err,
                    size_t errlen) {
    uint8_t *buf;
    size_t len;
    if (io_read_file(csv, DATASET_MAX_CSV, &buf, &len, err, errlen)) return -1;
    char dir[4096];
    if (root && root[0]) {
        snprintf(dir, sizeof dir, "%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/");
    } else {
        snprintf(dir, sizeof dir, "%s", csv);
        char *slash = strrchr(dir, '/');
        if (slash) slash[1] = 0; else dir[0] = 0;
    }
    /* pass 1: records */
    CsvReader rd = {.buf = (const char *)buf, .len = len, .line = 1, .name = csv};
    char **f;
    int nf, complete, rc = 0, cap = 0, nrec = 0, rcap = 0;
    typedef struct { char *path, *label; int line; } Rec;
    Rec *recs = NULL;
    for (;;) {
        int k = csv_next(&rd, &f, &nf, &complete, err, errlen);
        if (k < 0) { rc = -1; break; }
        if (k == 0) break;
        if (nrec == 0 && rd.rec_line == 1 && nf == 2 && !strcasecmp(f[0], "path") && !strcasecmp(f[1], "label")) {
            csv_fields_free(f, nf);
            continue;
        }
        if (nf != 2 || !f[0][0] || !f[1][0]) {
            err_fail(err, errlen, "%s line %d: expected 2 fields path,label, found %d%s", csv, rd.rec_line, nf,
                     nf == 2 ? (f[0][0] ? " with an empty label" : " with an empty path") : "");
            csv_fields_free(f, nf);
            rc = -1;
            break;
        }
        if (nrec == rcap) {
            rcap = rcap ? rcap * 2 : 256;
            Rec *q = realloc(recs, sizeof *q * rcap);
            if (!q) { csv_fields_free(f, nf); err_fail(err, errlen, "%s: out of memory", csv); rc = -1; break; }
            recs = q;
        }
        recs[nrec].path = f[0];
        recs[nrec].label = f[1];
        recs[nrec].line = rd.rec_line;
        nrec++;
        free(f);
    }
    free(buf);
    /* class names */
    int all_int = 1;
    for (int i = 0; i < nrec && !rc; i++) { long v; all_int &= parse_index(recs[i].label, &v) == 0; }
    char **names = NULL;
    int nn = 0;
    if (!rc && !n_labels && !all_int) {
        names = malloc(sizeof(char *) * (nrec + 1));
        for (int i = 0; names && i < nrec; i++) names[nn++] = recs[i].label;
        if (names) {
            qsort(names, nn, sizeof *names, cmp_str);
            int u = 0;
            for (int i = 0; i < nn; i++) if (!u || strcmp(names[u - 1], names[i])) names[u++] = names[i];
            nn = u;
        }
    }
    if (!rc) {
        if (n_labels) rc = set_classes(d, labels, n_labels);
        else if (names) rc = set_classes(d, names, nn);
        else { /* index labels: K unnamed classes */
            d->classes = calloc(K + 1, sizeof(char *));
            d->n_classes = K;
            rc = d->classes ? 0 : -1;
        }
        if (rc) err_fail(err, errlen, "%s: out of memory", csv);
    }
    for (int i = 0; i < nrec && !rc; i++) {
        long idx = -1;
        int label = n_labels ? find_name(labels, n_labels, recs[i].label) : names ? find_name(names, nn, recs[i].label) : -1;
        if (label < 0 && (n_labels || !names) && !parse_index(recs[i].label, &idx)) label = idx < K ? (int)idx : -2;
        if (label < 0) {
            char known[512] = "";
            if (n_labels) join_names(known, sizeof known, labels, n_labels);
            err_fail(err, errlen, "%s line %d: label '%.80s' is %s%s%s (the model has %d classes)", csv, recs[i].line,
                     recs[i].label, label == -2 ? "a class index out of range" : "neither a class name nor an index",
                     known[0] ? "; names: " : "", known, K);
            rc = -1;
            break;
        }
        if (label >= K) {
            err_fail(err, errlen, "%s line %d: label '%.80s' is class %d, but the model has %d classes", csv, recs[i].line,
                     recs[i].label, label, K);
            rc = -1;
            break;
        }
        char path[4096];
        if (recs[i].path[0] == '/' || !dir[0]) snprintf(path, sizeof path, "%s", recs[i].path);
        else snprintf(path, sizeof path, "%s%s", dir, recs[i].path);
        if (push_item(d, &cap, path, recs[i].path, label)) { err_fail(err, errlen, "%s: out of memory", csv); rc = -1; }
    }
    for (int i = 0; i < nrec; i++) { free(recs[i].path); free(recs[i].label); }
    free(recs);
    free(names);
    if (!rc && !d->n) { err_fail(err, errlen, "%s: no records (expected lines of path,label)", csv); rc = -1; }
    return rc;
}

int dataset_open(Dataset *d, const char *data, char *const *labels, int n_labels, int K, char *err, size_t errlen) {
    return dataset_open_root(d, data, NULL, labels, n_labels, K, err, errlen);
}

int dataset_open_root(Dataset *d, const char *data, const char *root, char *const *labels, int n_labels, int K,
                      char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    int rc;
    if (!data) { err_fail(err, errlen, "no data: give -d FOLDER (class subfolders) or -d LIST.csv (path,label)"); return -1; }
    if (is_dir(data)) {
        char top[4096];
        snprintf(top, sizeof top, "%s", data);
        size_t L = strlen(top);
        while (L > 1 && top[L - 1] == '/') top[--L] = 0;
        rc = open_folder(d, top, labels, n_labels, K, err, errlen);
    } else if (is_file(data)) {
        d->from_csv = 1;
        rc = open_csv(d, data, root, labels, n_labels, K, err, errlen);
    } else {
        err_fail(err, errlen, "%s: no such folder or file (expected class subfolders or a CSV of path,label)", data);
        rc = -1;
    }
    if (rc) dataset_free(d);
    return rc;
}

void dataset_free(Dataset *d) {
    for (int i = 0; i < d->n; i++) { free(d->v[i].path); free(d->v[i].name); }
    free(d->v);
    if (d->classes) for (int i = 0; i < d->n_classes; i++) free(d->classes[i]);
    free(d->classes);
    memset(d, 0, sizeof *d);
}

int dataset_mask_path(const char *image_path, char *out, size_t n) {
    char stem[4096];
    snprintf(stem, sizeof stem, "%s", image_path);
    char *slash = strrchr(stem, '/'), *dot = strrchr(stem, '.');
    if (dot && (!slash || dot > slash + 1)) {
        *dot = 0;
        if (snprintf(out, n, "%s.mask.png", stem) < (int)n && is_file(out)) return 1;
    }
    if (snprintf(out, n, "%s.mask.png", image_path) < (int)n && is_file(out)) return 1;
    out[0] = 0;
    return 0;
}
