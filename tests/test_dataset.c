/* test_dataset.c - the data-set lister (io/dataset.h) and the CSV reader
   (io/csv.h) on folders and lists made in a scratch directory. */
#include "io/csv.h"
#include "io/dataset.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void touch(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) { fputs("x", f); fclose(f); }
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static void test_folder(const char *T) {
    char p[1024], err[512];
    const char *dirs[] = {"data", "data/benign", "data/malignant", "data/malignant/sub", "data/.hidden"};
    for (int i = 0; i < 5; i++) { snprintf(p, sizeof p, "%s/%s", T, dirs[i]); mkdir(p, 0755); }
    snprintf(p, sizeof p, "%s/data/benign", T);
    touch(p, "b2.png"); touch(p, "a1.JPG"); touch(p, "a1.mask.png"); touch(p, "notes.txt"); touch(p, "vol.nii.gz");
    snprintf(p, sizeof p, "%s/data/malignant", T);
    touch(p, "z.png");
    snprintf(p, sizeof p, "%s/data/malignant/sub", T);
    touch(p, "c.bmp");
    snprintf(p, sizeof p, "%s/data/.hidden", T);
    touch(p, "h.png");
    Dataset d;
    snprintf(p, sizeof p, "%s/data", T);
    int rc = dataset_open(&d, p, NULL, 0, 2, err, sizeof err);
    const char *want[] = {"benign/a1.JPG", "benign/b2.png", "benign/vol.nii.gz", "malignant/sub/c.bmp", "malignant/z.png"};
    const int labels[] = {0, 0, 0, 1, 1};
    int ok = rc == 0 && d.n == 5 && d.n_classes == 2 && d.ignored == 1 && !strcmp(d.classes[1], "malignant");
    for (int i = 0; ok && i < 5; i++) ok &= !strcmp(d.v[i].name, want[i]) && d.v[i].label == labels[i] && d.v[i].index == i;
    CHECK(ok, "dataset: class folders sorted, images found recursively, masks, hidden folders and other files left out",
          "rc %d n %d ignored %d (%s)", rc, rc ? 0 : d.n, rc ? 0 : d.ignored, err);
    char mp[1100];
    snprintf(p, sizeof p, "%s/data/benign/a1.JPG", T);
    int has = dataset_mask_path(p, mp, sizeof mp);
    snprintf(p, sizeof p, "%s/data/benign/b2.png", T);
    CHECK(has && strstr(mp, "a1.mask.png") && !dataset_mask_path(p, mp, sizeof mp),
          "dataset: the lesion mask beside an image is found, and only there", "has %d", has);
    if (!rc) dataset_free(&d);
    char *labs[2] = {"malignant", "benign"};
    snprintf(p, sizeof p, "%s/data", T);
    rc = dataset_open(&d, p, labs, 2, 2, err, sizeof err);
    CHECK(rc == 0 && d.v[0].label == 1 && d.v[4].label == 0, "dataset: a label list sets the class indices", "%s", err);
    if (!rc) dataset_free(&d);
}

static void test_csv_list(const char *T) {
    char p[1024], err[512];
    snprintf(p, sizeof p, "%s/list.csv", T);
    write_text(p, "path,label\n\"data/benign/b2.png\",benign\r\n\n\"data/malignant/z.png\",\"malignant\"\n");
    Dataset d;
    int rc = dataset_open(&d, p, NULL, 0, 2, err, sizeof err);
    CHECK(rc == 0 && d.from_csv && d.n == 2 && d.v[1].label == 1 && strstr(d.v[0].path, T) &&
              !strcmp(d.v[0].name, "data/benign/b2.png"),
          "dataset: a CSV list with a header, quotes, CRLF and a blank line; paths relative to the list", "%s", err);
    if (!rc) dataset_free(&d);
    rc = dataset_open_root(&d, p, "/elsewhere/root", NULL, 0, 2, err, sizeof err);
    CHECK(rc == 0 && !strcmp(d.v[1].path, "/elsewhere/root/data/malignant/z.png") &&
              !strcmp(d.v[1].name, "data/malignant/z.png"),
          "dataset: with a root, a list's relative paths are taken below the root; names stay as written", "%s",
          rc ? err : d.v[1].path);
    if (!rc) dataset_free(&d);
    write_text(p, "a.png,benign\nb.png\n");
    rc = dataset_open(&d, p, NULL, 0, 2, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "line 2"), "dataset: a record without two fields is an error naming the line", "%s",
          err);
    write_text(p, "a.png,7\n");
    rc = dataset_open(&d, p, NULL, 0, 2, err, sizeof err);
    CHECK(rc < 0, "dataset: a class index beyond the model's classes is refused", "%s", err);
}

static void test_csv_reader(void) {
    const char *text = "a,\"b,c\",\"say \"\"hi\"\"\"\n\"multi\nline\",,x\nlast,cut";
    CsvReader rd = {.buf = text, .len = strlen(text), .line = 1, .name = "t.csv"};
    char **f, err[256];
    int nf, complete, k, recs = 0, ok = 1;
    while ((k = csv_next(&rd, &f, &nf, &complete, err, sizeof err)) == 1) {
        if (recs == 0) ok &= nf == 3 && !strcmp(f[1], "b,c") && !strcmp(f[2], "say \"hi\"") && complete;
        if (recs == 1) ok &= nf == 3 && !strcmp(f[0], "multi\nline") && !strcmp(f[1], "") && rd.rec_line == 2;
        if (recs == 2) ok &= nf == 2 && !complete;
        recs++;
        csv_fields_free(f, nf);
    }
    CHECK(ok && recs == 3 && k == 0, "csv: quoted commas, doubled quotes, embedded newlines, a cut last record",
          "records %d ok %d", recs, ok);
    const char *bad = "a,\"open\n";
    CsvReader rb = {.buf = bad, .len = strlen(bad), .line = 1, .name = "bad.csv"};
    k = csv_next(&rb, &f, &nf, &complete, err, sizeof err);
    if (k == 1) csv_fields_free(f, nf);
    CHECK(k < 0 || !complete, "csv: an unterminated quote is an error or an incomplete record", "k %d", k);
}

int main(void) {
    char T[] = "/tmp/test_dataset_XXXXXX";
    if (!mkdtemp(T)) return 1;
    test_folder(T);
    test_csv_list(T);
    test_csv_reader();
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", T);
    if (system(cmd)) {}
    return check_failures_;
}
