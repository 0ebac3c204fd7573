/* csv.h - RFC 4180 CSV: a reader of quoted fields with "" escapes and
   embedded newlines, over a buffer, and a field writer. Used for data-set
   lists (io/dataset.h) and evaluation results (eval/results.h).

   Usage:
     CsvReader rd = {.buf = text, .len = n, .line = 1, .name = "list.csv"};
     char **f; int nf, complete, k;
     while ((k = csv_next(&rd, &f, &nf, &complete, err, sizeof err)) == 1) { ... csv_fields_free(f, nf); }
     if (k < 0) ... err names the file and line */
#ifndef IO_CSV_H
#define IO_CSV_H
#include <stddef.h>
#include <stdio.h>

typedef struct {
    const char *buf;
    size_t len, pos;
    int line;            /* current line (1-based; start at 1) */
    int rec_line;        /* line where the last record started */
    const char *name;    /* for messages */
} CsvReader;
/* The next record into *fields (malloc'd array of malloc'd strings, *nf of
   them). *complete = 0 when the record was cut by the end of the buffer
   without a newline. Returns 1 (a record), 0 (end), -1 (error in err:
   "NAME line L: ..."). Blank lines are skipped. */
int csv_next(CsvReader *r, char ***fields, int *nf, int *complete, char *err, size_t errlen);
void csv_fields_free(char **fields, int nf);
/* Writes s as a CSV field, quoted when it holds , " CR LF or edge spaces. */
void csv_write_field(FILE *f, const char *s);
#endif
