/* ops.h - the engine's kernels: one forward/backward pair per op (llm.c style).

   Conventions: outputs first, inputs const, sizes last; gradient buffers
   are prefixed d and ACCUMULATED (+=) so fan-out (residual and dense blocks)
   is correct by construction; the caller zeroes them once. Every array
   parameter has its shape in a comment. NCHW float32.

   Each op mirrors the PyTorch function named above it, with its conventions
   (padding, tie rule, epsilon). The reference path (ops_ref.c) computes conv
   and linear with plain loops accumulating in double, for checking the fast
   path and for `--reference`. */
#ifndef ENGINE_OPS_H
#define ENGINE_OPS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int N, C, H, W;      /* input */
    int O, kh, kw;       /* output channels, kernel */
    int stride, pad, dilation;
    int Ho, Wo;          /* output size: (H + 2 pad - dilation (kh-1) - 1) / stride + 1 */
} ConvShape;

void conv_shape_init(ConvShape *s, int N, int C, int H, int W, int O, int kh, int kw,
                     int stride, int pad, int dilation);
/* Scratch floats the fast conv needs (im2col columns and a gather buffer). */
size_t conv2d_work_floats(const ConvShape *s);

/* A fused tail for forward-only runs. Per channel c of an (N,C,P) result,
   in this order, each step optional:
     y = y + bias[c]                  (the conv's bias)
     y = y * scale[c] + shift[c]      (batchnorm_forward's a, b from batchnorm_coeffs)
     y = y + residual                 (add_forward)
     y = y > 0 ? y : 0                (relu_forward)
   Every step rounds to float exactly as the separate op does (the build
   does not contract a*x+b into an fma), so a fused run is bit-identical
   to the unfused one; only the memory passes between the ops go away. */
typedef struct {
    const float *bias;           /* (C) or NULL */
    const float *scale, *shift;  /* (C) or NULL */
    const float *residual;       /* (N,C,P) or NULL */
    int relu;
} Epilogue;
/* out, inp (N,C,P); out may be inp. */
void epilogue_forward(float *out, const float *inp, const Epilogue *e, int N, int C, size_t P);
/* One span of channel c: dst (P) = the epilogue of src (P); res is the
   residual at dst's place, or NULL. */
void epilogue_span(float *dst, const float *src, size_t P, const Epilogue *e, int c, const float *res);

/* Row-major C (M,N) = alpha op(A) op(B) + beta C (op: transposed if trans_*)
   by the engine's fixed-order gemm (gemm.c: each output the same float
   operations wherever it sits) on the engine's threads, split by the shape
   alone (ops.c). */
void eng_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);

/* torch.nn.functional.conv2d, groups=1, zero padding.
   out (N,O,Ho,Wo), inp (N,C,H,W), weight (O,C,kh,kw), bias (O) or NULL. */
void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                    const ConvShape *s, float *work);
/* The same, followed by the epilogue e (its bias is the conv's bias). */
void conv2d_forward_fused(float *out, const float *inp, const float *weight, const Epilogue *e,
                          const ConvShape *s, float *work);
/* dinp (N,C,H,W) or NULL, dweight (O,C,kh,kw) or NULL, dbias (O) or NULL,
   dout (N,O,Ho,Wo). */
void conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, const ConvShape *s, float *work);
void conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        const ConvShape *s);
void conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, const ConvShape *s);

/* Winograd F(2x2,3x3) for 3x3 convolutions, stride 1, padding 1, undilated
   (winograd.c: the algorithm, its cost and its accuracy). conv_wino_ok:
   whether the fast path runs the forward (input_grad 0) or the input
   gradient (1) of a conv this way. U: the transformed weights (16,O,C) for
   the forward, Ut (16,C,O) for the input gradient, from conv_wino_weights;
   both ways need conv_wino_work_floats of scratch. */
int conv_wino_ok(const ConvShape *s, int input_grad);
size_t conv_wino_weights_floats(const ConvShape *s);
void conv_wino_weights(float *U, const float *weight, const ConvShape *s, int input_grad);
size_t conv_wino_work_floats(const ConvShape *s);
/* out (N,O,H,W) = conv(inp, weight) followed by the epilogue e. */
void conv_wino_forward(float *out, const float *inp, const float *U, const Epilogue *e, const ConvShape *s,
                       float *work);
/* dinp (N,C,H,W) += the input gradient of dout (N,O,H,W). */
void conv_wino_input_grad(float *dinp, const float *dout, const float *Ut, const ConvShape *s, float *work);

/* torch.nn.functional.batch_norm, training=False (running statistics):
   y = (x - mean) / sqrt(var + eps) * gamma + beta, scale and shift computed in double.
   The backward of frozen statistics has no batch terms: dx = dy * gamma / sqrt(var + eps).
   out, inp (N,C,HW); gamma, beta, mean, var (C); dgamma, dbeta may be NULL. */
/* a, b (C): y = x * a[c] + b[c], the float coefficients batchnorm_forward uses. */
void batchnorm_coeffs(float *a, float *b, const float *gamma, const float *beta,
                      const float *mean, const float *var, float eps, int C);
void batchnorm_forward(float *out, const float *inp, const float *gamma, const float *beta,
                       const float *mean, const float *var, float eps, int N, int C, int HW);
void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *gamma, const float *mean,
                        const float *var, float eps, int N, int C, int HW);

/* torch.relu; backward passes dout where out > 0 (torch's threshold_backward). */
void relu_forward(float *out, const float *inp, size_t n);
void relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* torch.nn.functional.max_pool2d, dilation 1, ceil_mode False, padding with -inf.
   Ties: the FIRST maximum in row-major window order wins (torch's CPU kernel
   updates only on a strictly greater value). argmax (N,C,Ho,Wo) holds the
   index into the input plane, or -1 if the window saw only padding. */
void maxpool_forward(float *out, int32_t *argmax, const float *inp, int N, int C, int H, int W,
                     int k, int stride, int pad, int Ho, int Wo);
void maxpool_backward(float *dinp, const float *dout, const int32_t *argmax,
                      int N, int C, int H, int W, int Ho, int Wo);

/* torch.nn.functional.avg_pool2d, ceil_mode False, count_include_pad True. */
void avgpool_forward(float *out, const float *inp, int N, int C, int H, int W,
                     int k, int stride, int pad, int Ho, int Wo);
void avgpool_backward(float *dinp, const float *dout, int N, int C, int H, int W,
                      int k, int stride, int pad, int Ho, int Wo);

/* torch.nn.functional.adaptive_avg_pool2d: window of output i is
   [floor(i H / Ho), ceil((i+1) H / Ho)). */
void adaptive_avgpool_forward(float *out, const float *inp, int N, int C, int H, int W,
                              int Ho, int Wo);
void adaptive_avgpool_backward(float *dinp, const float *dout, int N, int C, int H, int W,
                               int Ho, int Wo);

/* torch.cat(dim=1): out (N, sum C_i, HW) from inputs (N, C_i, HW). */
void concat_forward(float *out, const float *const *inps, const int *C, int n_in, int N, int HW);
void concat_backward(float *const *dinps, const float *dout, const int *C, int n_in, int N, int HW);

/* a + b (residual add). */
void add_forward(float *out, const float *a, const float *b, size_t n);
void add_backward(float *da, float *db, const float *dout, size_t n);

/* torch.nn.functional.linear: out (N,O) = inp (N,I) W^T (I,O) + bias (O). */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int N, int In, int O);
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int In, int O);
void linear_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        int N, int In, int O);
void linear_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int In, int O);

/* torch.softmax / log_softmax over the last dim of (N,K), max-subtracted,
   sums in double. Backward: dinp += y (dout - sum(dout y)) for softmax,
   dinp += dout - softmax(x) sum(dout) for log_softmax. */
void softmax_forward(float *out, const float *inp, int N, int K);
/* One row: prob = softmax(logits) (K); returns the argmax (the first of ties). */
int softmax_argmax(float *prob, const float *logits, int K);
/* The same for either output head: softmax over the K logits, or (sigmoid
   != 0, multi-label and single-logit models) sigma(F_k) for each. */
int probs_argmax(float *prob, const float *logits, int K, int sigmoid);
/* The indices of the k largest of K probabilities, largest first (the
   lower index first among equal values), into idx (k <= K entries). 0, or
   -1 without memory. */
int probs_topk(const float *prob, int K, int k, int *idx);
/* One class's probability, in double: softmax_k(logits) or sigma(F_k). */
double class_prob(const float *logits, int K, int k, int sigmoid);
void softmax_backward(float *dinp, const float *dout, const float *out, int N, int K);
void log_softmax_forward(float *out, const float *inp, int N, int K);
void log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int K);

#endif
