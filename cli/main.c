/* main.c - salient's entry point: dispatch to one command. */
#include "cli/audit.h"
#include "cli/cli.h"
#include "io/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(const Opts *o);
    const char *usage;
} Command;

static const Command commands[] = {
    {"info", cmd_info, "info -m MODEL [--json]                 architecture, classes, channels, parameters, SHA-256"},
    {"layers", cmd_layers, "layers -m MODEL [--size S]             every named layer and its output shape"},
    {"predict", cmd_predict, "predict -m MODEL [--labels F] [--topk K] [--json] IMAGE...\n"
                             "        predict -m MODEL --input-npy X.npy [--logits-npy OUT.npy]"},
    {"grad", cmd_grad, "grad -m MODEL --input-npy X.npy --class K --out G.npy\n"
                       "        [--layer NAME --act-npy A.npy --layer-grad-npy GA.npy]"},
    {"explain", cmd_explain, "explain -m MODEL -M METHOD[,METHOD...|all] [-o OUTDIR] [--label NAME|K] [--target pred|label|K|NAME[,...]]\n"
                             "        [method options] [--seed S --batch B --verbose --no-png --trace FILE --map-cache DIR]\n"
                             "        IMAGE... | --input-npy X.npy"},
    {"evaluate", cmd_evaluate, "evaluate -m MODEL -d DATA [-M METHODS] [--labels F] [-o OUTDIR] [--limit N] [--seed S]\n"
                               "        [--info webp|png|entropy] [--min-pred P] [--resume] [--shard I/N] [--substrate blur|black]\n"
                               "        [--insdel-steps N | --no-insdel] [--no-pic] [--maps all|scored] [--target pred|label|paper] [--map-cache DIR]\n"
                               "        score methods on a data set (tools/README-evaluate.md)"},
    {"study", cmd_study, "study PROTOCOL -o OUT [-d DATA] [--only NAME] [--limit N] [--shard I/N] [--threads T] [--map-cache DIR]\n"
                         "        the whole comparison a protocol file describes (docs/STUDY.md); --merge SHARD_OUT... -o OUT joins shards"},
    {"merge", cmd_merge, "merge OUTDIR... -o MERGED                join shard outputs into one set of results and one report"},
    {"sanity", cmd_sanity, "sanity -m MODEL IMAGE [-M METHODS] [--granularity module|block] [-o OUTDIR] [--seed S]   MPRT: randomise layers from the top\n"
     "        sanity --replot DIR...   redraw each DIR's sanity.png from its sanity.json"},
    {"selfcheck", cmd_selfcheck, "selfcheck -m MODEL [IMAGE] [--verbose]   fast path vs double-accumulating reference, layer by layer"},
    {"gradcheck", cmd_gradcheck, "gradcheck -m MODEL [IMAGE] [--pixels K]  input gradient vs central finite differences"},
    {"trace-diff", cmd_trace_diff, "trace-diff A.jsonl B.jsonl               first op whose bits differ, first beyond rounding"},
    {"verify", cmd_verify, "verify manifest.json                     re-run a recorded command and compare its outputs"},
    {"pic", cmd_pic, "pic -m MODEL IMAGE|--input-npy X.npy --map MAP.npy [--random-mask MASK.npy]\n"
                     "        [--save-random-mask FILE] [--info webp|png|entropy] [--min-pred P] [--seed S]\n"
                     "        [--target pred|K] [--json]    SIC and AIC of one map, as PAIR's pic.py"},
    {"methods", cmd_methods, "methods [--json|--markdown]                every method, its parameters and defaults"},
    {"bench", cmd_bench, "bench -m MODEL [--size S] [--batch N] [--threads T] [--repeat R] [--profile] [--gemm engine|openblas]"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(void) {
    fprintf(stderr, "salient %s - saliency maps for medical-image CNN classifiers\n\nusage:\n", SALIENT_VERSION);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(stderr, "  salient %s\n", commands[i].usage);
    fprintf(stderr, "\n");
    opts_usage_common();
    opts_usage_methods();
}

int main(int argc, char **argv) {
    /* Freed buffers stay in the process for the next pass to reuse (up to
       glibc's 32 MiB mmap limit), instead of going back to the system and
       being faulted in again: first touching fresh memory costs about
       0.5 ms per MB on a VM, as much as a gradient pass's arithmetic. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        char cpu[256];
        printf("salient %s\nbuild: gcc %s, %s\ncpu: %s\nopenblas: %s\nconvolutions: %s\n", SALIENT_VERSION,
#ifdef __VERSION__
               __VERSION__,
#else
               "unknown",
#endif
               SALIENT_CFLAGS, io_cpu_name(cpu, sizeof cpu), eng_blas_info(), eng_conv_info());
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        Opts o;
        if (opts_parse(&o, argc - 2, argv + 2)) return 2;
        if (!o.outdir && (!strcmp(argv[1], "explain") || !strcmp(argv[1], "evaluate"))) o.outdir = "salient-out";
        manifest_begin(argc, argv, &o);
        if (o.help) {
            fprintf(stderr, "usage: salient %s\n", commands[i].usage);
            opts_usage_common();
            if (strstr(commands[i].usage, " -M ") || strstr(commands[i].usage, "[-M ")) opts_usage_methods();
            free(o.pos);
            return 0;
        }
        int rc = commands[i].run(&o);
        free(o.pos);
        return rc;
    }
    fprintf(stderr, "salient: unknown command '%s'\n\n", argv[1]);
    usage();
    return 2;
}
