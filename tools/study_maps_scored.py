"""study_maps_scored.py - bring an evaluate output folder made with every
map (`--maps all`) to what `--maps scored` writes, without recomputing.

Under `--maps scored` an image whose SIC and AIC PIC's skip rules both
skip gets no map: its rows keep the skip reasons and leave every metric
cell and the seconds empty, and it has no raw curves. The rules never read
the map, so the rows of a `--maps all` run hold exactly the same reasons;
this rewrites them:
  - results.csv: rows whose skipped is "sic:<rule>;aic:<rule>" lose
    insertion, deletion, pointing, energy, outside_mass and seconds;
  - curves_images.csv: those rows' raw curves are dropped;
  - run.json: gets the "maps" setting, so the folder resumes under it.
The next `salient study` (or `evaluate --resume`) rewrites summary.json,
report.html and the figures from the files. The gallery keeps its figures.

    /usr/bin/python3 tools/study_maps_scored.py results/study/cxr/paper ...

Uses only the standard library.
"""
import csv
import io
import json
import re
import sys

BOTH = re.compile(r"^sic:[a-z_]+;aic:[a-z_]+$")
EMPTIED = ("insertion_auc", "deletion_auc", "pointing_hit", "mask_energy", "outside_mass", "seconds")
MAPS = "only for the images PIC scores on SIC or AIC"


def rewrite_csv(path, keep_row):
    """Rewrite a CSV file; keep_row(row dict) returns the row to keep or None."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head, out = rows[0], [rows[0]]
    for r in rows[1:]:
        kept = keep_row(dict(zip(head, r)))
        if kept is not None:
            out.append([kept[h] for h in head])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(out)
    with open(path, "w", newline="") as f:
        f.write(buf.getvalue())


def migrate(folder):
    unscored = set()

    def results_row(r):
        if BOTH.match(r["skipped"]):
            unscored.add((r["image"], r["method"]))
            r.update({k: "" for k in EMPTIED})
        return r

    rewrite_csv(folder + "/results.csv", results_row)
    rewrite_csv(folder + "/curves_images.csv",
                lambda r: None if (r["image"], r["method"]) in unscored else r)
    run_path = folder + "/run.json"
    text = open(run_path).read()
    if '"maps"' not in text:
        run = json.loads(text)
        if "target" not in run:
            sys.exit("%s: no target setting to put maps after" % run_path)
        text = re.sub(r'(\n  "target": [^\n]*,\n)', lambda m: m.group(1) + '  "maps": %s,\n' % json.dumps(MAPS),
                      text, count=1)
        json.loads(text)  # still valid
        with open(run_path, "w") as f:
            f.write(text)
    print("%s: %d rows without maps" % (folder, len(unscored)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: study_maps_scored.py FOLDER...")
    for d in sys.argv[1:]:
        migrate(d)
