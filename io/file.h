/* file.h - read a whole file into memory with a size bound and an error
   message that names the file and the reason (strerror), for the readers
   of untrusted files in io/ and weights/. Their errors follow
   engine/error.h (err_fail into the caller's err, errlen), included here. */
#ifndef IO_FILE_H
#define IO_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/error.h"

/* Reads path into a malloc'd buffer (*buf, *len; one extra NUL byte is
   allocated after the data so text parsers may rely on it). Fails with
   a message naming the file if it is missing, unreadable, not a regular
   file, or larger than max_bytes. An empty file succeeds with *len = 0.
   Returns 0 or -1. */
int io_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len,
                 char *err, size_t errlen);
/* The non-empty lines of a text file (CR and LF removed, at most 1023
   bytes each), malloc'd; *n gets their count. NULL if it cannot be read
   or holds no such line. */
char **io_read_lines(const char *path, int *n);
/* Copies a file of at most max_bytes. 0, or -1 with a message naming the file. */
int io_copy_file(const char *from, const char *to, size_t max_bytes, char *err, size_t errlen);
/* Creates path and its missing parents (mode 0755), like mkdir -p. 0, or
   -1 with errno set. */
int io_mkdir_p(const char *path);
/* The entries of folder dir whose name keep(name) accepts; 0 when dir
   cannot be read. each, if not NULL, is called with each such entry's
   path ("dir/name"). */
int io_count_entries(const char *dir, int (*keep)(const char *name), void (*each)(const char *path));
/* The file name of path without its folder and its extension (".nii.gz"
   as one, any case; a leading dot is no extension), into out (n bytes):
   "a/b/scan.nii.gz" -> "scan", "x.png" -> "x", ".hidden" -> ".hidden". */
void io_path_stem(const char *path, char *out, size_t n);
/* This machine's CPU as /proc/cpuinfo names it ("model name"), or
   "unknown"; into buf (n bytes), which it returns. For manifests and the
   known-answer test. */
const char *io_cpu_name(char *buf, size_t n);
#endif
