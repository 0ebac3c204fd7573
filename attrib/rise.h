/* rise.h - RISE's random masks (attrib/rise.c), exposed for tests.

   Usage:
     EngRng r; eng_rng_seed(&r, seed);
     RiseMaskGen g = rise_mask_gen(H, W, 8, 0.5);
     for (i = 0; i < N; i++) rise_draw_mask(&g, &r, mask_i, grid_scratch);

   A mask (eclique/RISE explanations.py, RISE.generate_masks): an s x s grid
   of independent 0/1 cells, 1 with probability p; upsampled by
   skimage.transform.resize(order=1, mode='reflect', anti_aliasing=False) to
   (s+1)*cell where cell = ceil(H/s) (resp. W); cropped at a random shift
   (dy, dx) in [0,cell) to H x W. Draw order per mask: s*s uniform doubles
   (row-major; a cell is 1 when u < p), then dy, then dx. */
#ifndef ATTRIB_RISE_H
#define ATTRIB_RISE_H
#include <stdint.h>
#include "engine/rng.h"

typedef struct { int H, W, s, cell_h, cell_w; double p; } RiseMaskGen;

RiseMaskGen rise_mask_gen(int H, int W, int s, double p);
/* mask (H,W) from a given grid (s,s) of 0/1 and shift: bilinear with
   scipy's 'mirror' boundary, bit-exact with skimage's float32 output. */
void rise_mask_from_grid(float *mask, const RiseMaskGen *g, const uint8_t *grid, int dy, int dx);
/* Draws one grid (s,s) and shift from r and builds the mask. */
void rise_draw_mask(const RiseMaskGen *g, EngRng *r, float *mask, uint8_t *grid);
#endif
