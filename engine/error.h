/* error.h - how the library layers (engine/, weights/, io/, attrib/, eval/)
   report errors. One convention, two helpers:

   1. Every library function that can fail returns -1 (or NULL) and leaves a
      message; it never prints and never exits. Callers (cli/) decide what to
      show and how to stop.

   2. Where the message goes:
      - A function that parses a file or buffer the caller names (io/ readers,
        weights/ loaders, eval/results CSV) takes `char *err, size_t errlen`
        and writes one message there naming the input and the reason:
          "npy: 'a.npy': negative dimension -3"
        The message lives in the caller's buffer, so it survives while other
        work runs. err may be NULL (or errlen 0): the message is dropped.
      - Everything else (model building, passes, attribution methods,
        metrics, segmentation, triangulation) leaves its message in the
        calling thread's error slot, read with eng_last_error(). The slot is
        thread-local: a failure in one thread never overwrites the message
        another thread is about to read, and code that runs work on its own
        threads (eval/pic.c) copies a worker's message to the caller.
        The engine's worker threads (engine/parallel.c) run ranges that
        cannot fail; messages are set by the thread that called the API.
        A successful call does not clear the slot: read it only after a
        failure.

   3. The helpers:
        return eng_fail("rise: --prob must be in (0,1], got %g", p);
        return err_fail(err, errlen, "image '%s': empty file (0 bytes)", path);
      both return -1. eng_fail may quote the slot itself
      (eng_fail("xrai: segmentation failed: %s", eng_last_error())): it
      formats into a copy first. Messages are truncated to the buffer (the
      slot holds ENG_ERROR_MAX bytes with the NUL).

   Both live in engine/error.c: formatting a message needs no knowledge of
   files, and io/ and weights/ include this header alone (not engine.h). */
#ifndef ENGINE_ERROR_H
#define ENGINE_ERROR_H

#include <stddef.h>

#define ENG_ERROR_MAX 512

/* The calling thread's last error message ("" if none was set). */
const char *eng_last_error(void);
/* Sets the calling thread's error message. */
void eng_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* eng_set_error, then returns -1. */
int eng_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Formats into err (errlen bytes, NUL-terminated, truncated) unless err is
   NULL or errlen is 0; returns -1. */
int err_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
