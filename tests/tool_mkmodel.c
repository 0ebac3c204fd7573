/* tool_mkmodel.c - writes a model with the deterministic seeded weights of
   tests/detweights.h as a safetensors file, for the command-line tests:
     tool_mkmodel ARCH IN_CHANNELS CLASSES SEED DTYPE OUT.safetensors [META [TENSOR]]
   (DTYPE F32, F16 or BF16; META the text inside __metadata__, "" for none;
   TENSOR: a parameter whose first element is changed by +0.5, for the
   trace-diff test). */
#include "engine/engine.h"
#include "tests/detweights.h"
#include "tests/st_writer.h"
#include "weights/load.h"

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: tool_mkmodel ARCH IN_CHANNELS CLASSES SEED DTYPE OUT [META]\n");
        return 2;
    }
    char err[256];
    EngModel *m = weights_model_for_arch(argv[1], atoi(argv[2]), atoi(argv[3]), err, sizeof err);
    if (!m) { fprintf(stderr, "%s\n", err); return 1; }
    detweights_fill_model(m, strtoull(argv[4], NULL, 10));
    if (argc > 8) {
        EngParam *p = eng_model_param_find(m, argv[8]);
        if (!p) { fprintf(stderr, "no tensor %s\n", argv[8]); return 1; }
        p->data[0] += 0.5f;
    }
    int rc = stw_write_model(argv[6], m, argv[5], argc > 7 && argv[7][0] ? argv[7] : NULL);
    eng_model_free(m);
    return rc ? 1 : 0;
}
