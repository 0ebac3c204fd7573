/* csv.c - RFC 4180 CSV reader and field writer (see csv.h). */
#include "io/csv.h"
#include "engine/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct { char *s; size_t n, cap; } Buf;
static int buf_put(Buf *b, char c) {
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char *q = realloc(b->s, cap);
        if (!q) return -1;
        b->s = q; b->cap = cap;
    }
    b->s[b->n++] = c;
    b->s[b->n] = 0;
    return 0;
}

static int fields_push(char ***v, int *n, int *cap, Buf *b) {
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 16;
        char **q = realloc(*v, sizeof *q * c);
        if (!q) return -1;
        *v = q; *cap = c;
    }
    (*v)[(*n)++] = b->s ? b->s : strdup("");
    b->s = NULL; b->n = b->cap = 0;
    return (*v)[*n - 1] ? 0 : -1;
}

void csv_fields_free(char **fields, int nf) {
    if (!fields) return;
    for (int i = 0; i < nf; i++) free(fields[i]);
    free(fields);
}

int csv_next(CsvReader *r, char ***fields, int *nf, int *complete, char *err, size_t errlen) {
    *fields = NULL; *nf = 0; *complete = 1;
    /* skip blank lines */
    while (r->pos < r->len && (r->buf[r->pos] == '\n' || r->buf[r->pos] == '\r')) {
        if (r->buf[r->pos] == '\n') r->line++;
        r->pos++;
    }
    if (r->pos >= r->len) return 0;
    int start_line = r->line, cap = 0, quoted = 0, was_quoted = 0;
    r->rec_line = start_line;
    Buf b = {0};
    char **v = NULL;
    int n = 0;
    for (;;) {
        if (r->pos >= r->len) {
            if (quoted) {
                err_fail(err, errlen, "%s line %d: a quoted field is not closed before the end of the file", r->name,
                         start_line);
                goto fail;
            }
            *complete = 0;
            break;
        }
        char c = r->buf[r->pos++];
        if (c == 0) {
            err_fail(err, errlen, "%s line %d: a NUL byte (not a text file?)", r->name, r->line);
            goto fail;
        }
        if (quoted) {
            if (c == '"') {
                if (r->pos < r->len && r->buf[r->pos] == '"') { r->pos++; if (buf_put(&b, '"')) goto oom; }
                else quoted = 0;
            } else {
                if (c == '\n') r->line++;
                if (buf_put(&b, c)) goto oom;
            }
            continue;
        }
        if (c == '"') {
            if (b.n || was_quoted) {
                err_fail(err, errlen, "%s line %d: field %d: a quote inside an unquoted field (quote the whole field, "
                         "doubling inner quotes)", r->name, r->line, n + 1);
                goto fail;
            }
            quoted = was_quoted = 1;
            continue;
        }
        if (c == ',') {
            if (fields_push(&v, &n, &cap, &b)) goto oom;
            was_quoted = 0;
            continue;
        }
        if (c == '\r' && r->pos < r->len && r->buf[r->pos] == '\n') continue;
        if (c == '\n' || c == '\r') { r->line++; break; }
        if (was_quoted) {
            err_fail(err, errlen, "%s line %d: field %d: text after a closing quote", r->name, r->line, n + 1);
            goto fail;
        }
        if (buf_put(&b, c)) goto oom;
    }
    if (fields_push(&v, &n, &cap, &b)) goto oom;
    *fields = v; *nf = n;
    return 1;
oom:
    err_fail(err, errlen, "%s line %d: out of memory", r->name, r->line);
fail:
    free(b.s);
    csv_fields_free(v, n);
    return -1;
}

void csv_write_field(FILE *f, const char *s) {
    if (!s) return;
    size_t L = strlen(s);
    int q = L && (s[0] == ' ' || s[L - 1] == ' ');
    for (const char *p = s; *p && !q; p++) q = *p == ',' || *p == '"' || *p == '\n' || *p == '\r';
    if (!q) { fputs(s, f); return; }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

