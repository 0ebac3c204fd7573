/* insdel.h - insertion and deletion AUCs (Petsiuk et al. 2018, "RISE:
   Randomized input sampling for explanation of black-box models"; the
   authors' eclique/RISE evaluation.py CausalMetric).

   Usage:
     P.model, P.x (C,H,W network input), P.C/H/W, P.target (RISE: the top-1 class)
     InsdelResult r;
     if (insdel_run(&P, map, INSDEL_INSERTION, SUBSTRATE_BLUR, 0, mean, std, &r) == 0)
         printf("%g\n", r.auc);                  // r.scores[0..r.n_steps]
     insdel_result_free(&r);

   The game, as CausalMetric.single_run:
     n_steps = ceil(H*W / step) (step 0 = the image width, RISE's 224 pixels
     at 224x224); pixels are taken in decreasing map order (RISE:
     np.flip(np.argsort(map)); numpy's default sort is not stable, so for
     tied values we fix the order as the flip of a stable sort: ties go
     from the highest flat index down).
     insertion: start = substrate, finish = the image; deletion: start =
     the image, finish = the substrate. For i = 0..n_steps: score i is the
     softmax probability of P->target on `start`; then the next `step`
     pixels (all channels) of start take finish's values.
     AUC = (sum(scores) - scores[0]/2 - scores[n]/2) / n  (RISE's auc: the
     trapezoid rule over [0,1] with n equal steps).
   Substrates, on the network input (normalised) as RISE does:
     SUBSTRATE_BLUR  RISE's insertion substrate: conv2d of each channel with
                     gkern(11, 5), zero padding 5 (the border darkens towards
                     the normalised 0, as in RISE). gkern: scipy
                     gaussian_filter (sigma 5, mode 'reflect', truncate 4) of
                     an 11x11 unit impulse, rounded to float32.
     SUBSTRATE_ZERO  RISE's deletion substrate torch.zeros_like: 0 in the
                     normalised space, i.e. the dataset mean colour.
     SUBSTRATE_BLACK a black image, (0 - mean) / std per channel.
   Costs n_steps + 1 forward images, run in batches of P->batch. */
#ifndef EVAL_INSDEL_H
#define EVAL_INSDEL_H
#include <stdint.h>
#include "attrib/attrib.h"

typedef enum { INSDEL_INSERTION = 0, INSDEL_DELETION } InsdelMode;
typedef enum { SUBSTRATE_BLUR = 0, SUBSTRATE_BLACK, SUBSTRATE_ZERO } InsdelSubstrate;

#define INSDEL_KLEN 11
#define INSDEL_SIGMA 5.0

int insdel_parse_substrate(const char *name, InsdelSubstrate *out); /* "blur" | "black" | "zero" */
const char *insdel_substrate_name(InsdelSubstrate s);

/* RISE's gkern(klen, sigma) 2-D kernel, (klen, klen) float32. klen odd, <= 63. */
void insdel_gkern(float *k, int klen, double sigma);
/* The substrate (C,H,W) of x (C,H,W). mean/std needed for SUBSTRATE_BLACK. 0 or -1. */
int insdel_substrate(float *out, const float *x, int C, int H, int W, InsdelSubstrate s, const float *mean,
                     const float *std);
/* Pixel order (n flat indices): decreasing map, ties by decreasing index. */
void insdel_order(int32_t *order, const float *map, int n);
double insdel_auc(const double *scores, int n_steps);

typedef struct {
    int n_steps, step;
    double *scores;   /* (n_steps + 1) probabilities of P->target */
    double auc;
    long forward;     /* images through the network */
} InsdelResult;

/* mean/std: the preprocessing (for SUBSTRATE_BLACK; may be NULL otherwise).
   step <= 0: the image width. 0, or -1 with eng_last_error. */
int insdel_run(AttribParams *P, const float *map, InsdelMode mode, InsdelSubstrate sub, int step,
               const float *mean, const float *std, InsdelResult *r);
void insdel_result_free(InsdelResult *r);
#endif
