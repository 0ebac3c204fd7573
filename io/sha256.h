/* sha256.h - SHA-256 as FIPS 180-4 defines it (section 6.2), for the hashes
   salient records in its manifests (model file, input images).

   Usage:
     Sha256 s; sha256_init(&s); sha256_update(&s, buf, n); ...
     uint8_t digest[32]; sha256_final(&s, digest);
     char hex[65]; sha256_hex(buf, n, hex);          // one-shot, lowercase hex
     if (sha256_file("model.safetensors", hex) < 0) ... // streams the file
   The message length is counted in bytes as a uint64_t (messages up to
   2^61 - 1 bytes, as the standard's 2^64-bit bound allows). */
#ifndef IO_SHA256_H
#define IO_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t nbytes;      /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;          /* bytes waiting in block */
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final(Sha256 *s, uint8_t digest[32]);
void sha256_hex(const void *data, size_t n, char hex[65]);
int sha256_file(const char *path, char hex[65]);   /* 0, or -1 if it cannot be read */
void sha256_to_hex(const uint8_t digest[32], char hex[65]);
#endif
