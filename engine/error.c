/* error.c - the error helpers of every library layer (see error.h). */
#include "engine/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char eng_err[ENG_ERROR_MAX];

const char *eng_last_error(void) { return eng_err; }

/* Formats into a copy first: the arguments may point into eng_err. */
static void set_error(const char *fmt, va_list ap) {
    char tmp[ENG_ERROR_MAX];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    memcpy(eng_err, tmp, strlen(tmp) + 1);
}

void eng_set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_error(fmt, ap);
    va_end(ap);
}

int eng_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_error(fmt, ap);
    va_end(ap);
    return -1;
}

int err_fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
