/* file.c - whole-file reads with a size bound (see file.h). */
#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int io_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len,
                 char *err, size_t errlen) {
    *buf = NULL;
    *len = 0;
    if (!path) return err_fail(err, errlen, "no file name given");
    FILE *f = fopen(path, "rb");
    if (!f) return err_fail(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        err_fail(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        err_fail(err, errlen, "'%s' is not a regular file", path);
        fclose(f);
        return -1;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max_bytes) {
        err_fail(err, errlen, "'%s' has %lld bytes, more than the limit of %zu",
                 path, (long long)st.st_size, max_bytes);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *b = malloc(size + 1);
    if (!b) {
        err_fail(err, errlen, "out of memory reading '%s' (%zu bytes)", path, size);
        fclose(f);
        return -1;
    }
    size_t got = size ? fread(b, 1, size, f) : 0;
    int extra = fgetc(f);   /* the file grew or lied about its size */
    if (got != size || ferror(f) || extra != EOF) {
        err_fail(err, errlen, "cannot read '%s': %s", path,
                 ferror(f) ? strerror(errno) : "size changed while reading");
        free(b);
        fclose(f);
        return -1;
    }
    fclose(f);
    b[size] = 0;
    *buf = b;
    *len = size;
    return 0;
}

const char *io_cpu_name(char *buf, size_t n) {
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return buf;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t') colon++;
        colon[strcspn(colon, "\n")] = 0;
        snprintf(buf, n, "%s", colon);
        break;
    }
    fclose(f);
    return buf;
}

int io_copy_file(const char *from, const char *to, size_t max_bytes, char *err, size_t errlen) {
    uint8_t *buf;
    size_t len;
    if (io_read_file(from, max_bytes, &buf, &len, err, errlen)) return -1;
    FILE *f = fopen(to, "wb");
    int rc = f && fwrite(buf, 1, len, f) == len ? 0 : -1;
    if (f && fclose(f)) rc = -1;
    free(buf);
    return rc ? err_fail(err, errlen, "cannot write '%s': %s", to, strerror(errno)) : 0;
}

void io_path_stem(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    size_t L = strlen(out);
    if (L > 7 && !strcasecmp(out + L - 7, ".nii.gz")) { out[L - 7] = 0; return; }
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

int io_mkdir_p(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) { errno = ENAMETOOLONG; return -1; }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = 0; if (mkdir(tmp, 0755) && errno != EEXIST) return -1; *p = '/'; }
    return (mkdir(tmp, 0755) && errno != EEXIST) ? -1 : 0;
}

char **io_read_lines(const char *path, int *n) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[1024];
    char **v = NULL;
    int k = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        size_t L = strcspn(line, "\r\n");
        line[L] = 0;
        if (!L) continue;
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            char **q = realloc(v, sizeof *v * cap);
            if (!q) break;
            v = q;
        }
        v[k++] = strdup(line);
    }
    fclose(f);
    *n = k;
    return v;
}

int io_count_entries(const char *dir, int (*keep)(const char *name), void (*each)(const char *path)) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!keep(e->d_name)) continue;
        n++;
        char path[4096];
        if (each && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path) each(path);
    }
    closedir(d);
    return n;
}
