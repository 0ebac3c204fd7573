/* mapcache.h - a folder of computed saliency maps, so that runs which differ
   only in how maps are scored (a study's variants: another information
   estimate, another aggregation) compute each map once.

   A map is stored under the exact computation that made it. The key names
   the method and every parameter it reads (as the registry reports them),
   the class explained, the random stream when the method draws from it
   (attrib_method_uses_seed), the engine's path when it is the reference
   (--reference), the head, the input size, a hash of the network
   input's bytes and the model's logits for it (so another model,
   preprocessing or window gives another key). The key alone names the file,
   so commands that compute the same map share it whatever they call the
   image (`explain --map-cache` stores, `evaluate` and `study` read). A file
   is used only when its stored key equals the asked one byte for byte;
   anything else (a missing, cut or foreign file) is a miss, and the map is
   computed again. Maps with a baseline from a file are not cached (the key
   cannot name the file's contents).

   File <folder>/<16 hex digits of FNV-1a of the key>.map:
       "salient-map 2\n" image "\n" key "\n" "H W forward backward seconds\n"
       then H*W float32, little-endian (image: the name of the image that
       stored it, for a reader; not part of the match).
   Stores are atomic (a temporary file renamed), so parallel shards may share
   one folder. Errors go through engine/error.h (eng_fail). */
#ifndef EVAL_MAPCACHE_H
#define EVAL_MAPCACHE_H
#include "attrib/attrib.h"

#define MAPCACHE_KEY_MAX 1024

typedef struct {
    long forward, backward;   /* the computation's images through the network */
    double seconds;           /* and its time */
} MapCacheMeta;

/* The key of am under P for the input P->x (C,H,W) with logits (K):
   0, or -1 when the map cannot be cached (a file baseline, a key too long). */
int mapcache_key(const AttribMethod *am, const AttribParams *P, const float *logits, int K, char *key, size_t n);
/* 0 and map (H*W) filled on a hit; -1 on a miss. */
int mapcache_load(const char *dir, const char *key, int H, int W, float *map, MapCacheMeta *meta);
/* 0, or -1 with the engine error set. */
int mapcache_store(const char *dir, const char *image, const char *key, int H, int W, const float *map,
                   const MapCacheMeta *meta);
/* mapcache_store of a method's result (its map and cost); a map that
   cannot be stored costs only a note on stderr. */
void mapcache_keep(const char *dir, const char *image, const char *key, int H, int W, const AttribResult *R);
#endif
