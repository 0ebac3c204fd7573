/* model_internal.h - the model struct shared by the engine's own files. */
#ifndef ENGINE_MODEL_INTERNAL_H
#define ENGINE_MODEL_INTERNAL_H
#include "engine/engine.h"

typedef struct {
    char name[ENG_NAME_MAX];
    int node;
} EngAlias;

/* The Winograd-transformed weights of a conv node (engine/pass.c), made on
   first use and made again whenever the weights change: `from` is a copy
   of the weights they were made from, compared on every use (a method
   such as MPRT rewrites weights between passes). */
typedef struct {
    float *from;
    float *u[2];         /* forward, input gradient; NULL until asked */
} EngWinoWeights;

struct EngModel {
    char arch[32];
    int in_channels, n_classes;
    EngNode *nodes;
    int n_nodes, cap_nodes;
    EngParam **params;   /* each allocated separately so pointers stay valid */
    int n_params, cap_params;
    EngAlias *alias;     /* module paths that name a node produced under another name */
    int n_alias, cap_alias;
    int shape_h, shape_w; /* input size the node shapes were inferred for; 0 if none */
    EngWinoWeights *wino; /* per node (n_nodes), allocated on first use */
};

#endif
