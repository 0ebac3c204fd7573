/* test_protocol.c - a study's protocol file (eval/protocol.h): the keys,
   the defaults, path resolution and the errors that name their line. */
#include "eval/protocol.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>

static const char *good =
    "# a comment\n"
    "name = demo study\n"
    "seed = 7\n"
    "methods = ig:steps=25, xrai ,random\n"
    "\n"
    "[variant paper]\r\n"
    "target = paper   # CAM: label\n"
    "info = entropy\n"
    "min_pred = 0\n"
    "aggregate = median\n"
    "[variant ours]\n"
    "[data brain]\n"
    "model = ../weights/m.safetensors\n"
    "list = list.csv\n"
    "root = $DATA/brain-tumor-mri\n"
    "about = four classes\n";

static void test_good(void) {
    StudyProtocol p;
    char err[600] = "";
    int rc = protocol_parse(&p, good, "studies", "/data", err, sizeof err);
    CHECK(rc == 0 && !strcmp(p.name, "demo study") && p.seed == 7 && !strcmp(p.methods, "ig:steps=25,xrai,random") &&
              p.insdel == 0,
          "protocol: the study's keys; comments, CRLF and blank lines; spaces dropped from the method list", "%s",
          rc ? err : p.methods);
    CHECK(rc == 0 && p.n_variant == 2 && p.variant[0].target == TARGET_RULE_PAPER && p.variant[0].info == INFO_ENTROPY &&
              p.variant[0].min_pred == 0 && p.variant[0].median == 1,
          "protocol: a variant's keys", "n %d", p.n_variant);
    CHECK(rc == 0 && p.variant[1].target == TARGET_RULE_PRED && p.variant[1].info == INFO_WEBP &&
              p.variant[1].min_pred == PIC_MIN_PRED && p.variant[1].median == 0,
          "protocol: an empty variant takes the defaults (prediction, WebP, PAIR's 0.8, mean)", "mismatch");
    CHECK(rc == 0 && p.n_data == 1 && !strcmp(p.data[0].model, "studies/../weights/m.safetensors") &&
              !strcmp(p.data[0].list, "studies/list.csv") && !strcmp(p.data[0].root, "/data/brain-tumor-mri") &&
              !strcmp(p.data[0].about, "four classes"),
          "protocol: relative paths below the protocol's folder, $DATA below the data folder", "%s | %s | %s",
          p.data[0].model, p.data[0].list, p.data[0].root);
    rc = protocol_parse(&p, "methods = random\n[data a]\nmodel = m\nlist = l\n", "", NULL, err, sizeof err);
    CHECK(rc == 0 && p.n_variant == 1 && !strcmp(p.variant[0].name, "default") && !strcmp(p.data[0].model, "m") &&
              p.sanity_images == 0 && p.sanity_by == MPRT_BY_BLOCK && p.scored_maps_only == 0,
          "protocol: without a variant, one with every default; no MPRT unless asked, by block; maps for every image",
          "%s", err);
    rc = protocol_parse(&p, "methods = random\nmaps = scored\n[data a]\nmodel = m\nlist = l\n", "", NULL, err, sizeof err);
    int scored = rc == 0 && p.scored_maps_only == 1;
    rc = protocol_parse(&p, "methods = random\nmaps = all\n[data a]\nmodel = m\nlist = l\n", "", NULL, err, sizeof err);
    CHECK(scored && rc == 0 && p.scored_maps_only == 0, "protocol: maps = scored and maps = all", "%s", err);
    rc = protocol_parse(&p, "methods = random\nsanity = 100\nsanity_by = module\n[data a]\nmodel = m\nlist = l\n", "",
                        NULL, err, sizeof err);
    CHECK(rc == 0 && p.sanity_images == 100 && p.sanity_by == MPRT_BY_MODULE, "protocol: sanity = 100 images, by module",
          "%s", err);
}

/* The error for text names line `line` and contains `what`. */
static int refused(const char *text, const char *data_dir, int line, const char *what) {
    StudyProtocol p;
    char err[600] = "", tag[32];
    if (protocol_parse(&p, text, "", data_dir, err, sizeof err) == 0) return 0;
    snprintf(tag, sizeof tag, "line %d", line);
    int ok = (line == 0 || strstr(err, tag)) && strstr(err, what);
    if (!ok) fprintf(stderr, "  got: %s\n", err);
    return ok;
}

static void test_errors(void) {
    const char *tail = "[data a]\nmodel = m\nlist = l\n";
    char t[512];
    snprintf(t, sizeof t, "methods = ig\ncolour = red\n%s", tail);
    CHECK(refused(t, NULL, 2, "unknown study key 'colour'"), "protocol: an unknown key is refused, naming its line", "%s", "not refused as expected");
    snprintf(t, sizeof t, "methods = ig\n[variant v]\ntarget = truth\n%s", tail);
    CHECK(refused(t, NULL, 3, "expected pred, label or paper"), "protocol: a bad target rule is refused", "%s", "not refused as expected");
    snprintf(t, sizeof t, "methods = ig\n[variant v]\nmin_pred = 1.5\n%s", tail);
    CHECK(refused(t, NULL, 3, "[0, 1]"), "protocol: min_pred outside [0, 1] is refused", "%s", "not refused as expected");
    snprintf(t, sizeof t, "methods = ig\n[variant v]\n[variant v]\n%s", tail);
    CHECK(refused(t, NULL, 3, "defined twice"), "protocol: a repeated variant name is refused", "%s", "not refused as expected");
    snprintf(t, sizeof t, "methods = ig\n[data ../x]\n");
    CHECK(refused(t, NULL, 2, "section name"), "protocol: a section name that is not a plain name is refused", "%s", "not refused as expected");
    CHECK(refused("methods = ig\n[data a]\nmodel = m\nlist = $DATA/x.csv\n", NULL, 4, "give the data folder"),
          "protocol: $DATA without a data folder is refused", "%s", "not refused as expected");
    CHECK(refused("methods = ig\n[data a]\nmodel = m\n", "/d", 0, "needs model and list"),
          "protocol: a data set without its list is refused", "%s", "not refused as expected");
    CHECK(refused("[data a]\nmodel = m\nlist = l\n", NULL, 0, "no 'methods"), "protocol: no methods is refused", "%s", "not refused as expected");
    CHECK(refused("methods = ig\nseed = -3\n", NULL, 2, "non-negative integer"), "protocol: a negative seed is refused",
          "%s", "not refused as expected");
    CHECK(refused("methods = ig\nsanity = 101\n", NULL, 2, "from 0 to 100") && refused("methods = ig\nsanity = -1\n", NULL, 2, "from 0 to 100") &&
              refused("methods = ig\nsanity_by = layer\n", NULL, 2, "module or block"),
          "protocol: sanity above 100 or negative, or an unknown granularity, is refused", "%s", "not refused as expected");
    CHECK(refused("methods = ig\nmaps = some\n", NULL, 2, "expected all or scored"), "protocol: an unknown maps value is refused",
          "%s", "not refused as expected");
    CHECK(refused("methods = ig\njust words\n", NULL, 2, "key = value"), "protocol: a line without '=' is refused", "%s", "not refused as expected");
}

int main(void) {
    test_good();
    test_errors();
    return check_failures_;
}
