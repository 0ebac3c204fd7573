#!/usr/bin/python3
"""make_nifti_golden.py - reference data for tests/test_nifti.c (io/nifti.c).

Run from the repository root:
    /usr/bin/python3 tools/make_nifti_golden.py
Needs Debian's python3-nibabel (5.x) and python3-numpy. Writes into
tests/data/nifti/:
  - copies of four files of nibabel's own test data (see ATTRIBUTION.md);
  - gen_*.nii[.gz], tiny volumes generated here (header from nibabel's
    Nifti1Header / Nifti2Header, data bytes written by this script so the
    stored values and scale factors are exactly the ones chosen), covering
    NIfTI-1 and NIfTI-2, .nii and .nii.gz, both byte orders, every data type
    io/nifti.c reads, scl_slope/scl_inter, qform-only, sform-over-qform,
    no transform at all, permuted, flipped and oblique axes, 2-D and 4-D;
  - golden.json: for each file what nibabel says: shape, datatype, byte
    order, scale factors, cal_min/cal_max, aff2axcodes, SHA-256 of the full
    get_fdata() array (float64, little-endian, Fortran order = the file's
    voxel order), sample voxels, and display slices: the slice of
    as_closest_canonical(img) (RAS+) shown radiologically,
        S.T[::-1, ::-1],  S = C[:, :, k] (axial), C[:, k, :] (coronal), C[k, :, :] (sagittal)
    (SHA-256 of the float64 rows), and its window to [0,1] as float32
    (SHA-256), computed here with the formulas of io/nifti.h.
Where both transform codes are 0, io/nifti.c takes the voxel axes as RAS
(NIfTI's method 1) and nibabel's img.affine would be Analyze's LAS default,
so the reference orientation is taken from diag(pixdim) there.
Also writes seed inputs for the fuzzer into tests/fuzz/corpus_nifti/.
Deterministic: fixed seed, gzip mtime 0.
"""
import gzip
import hashlib
import json
import math
import os
import shutil
import sys

import nibabel as nib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "nifti")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus_nifti")
NIB_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
COPIED = ["anatomical.nii", "functional.nii", "example_nifti2.nii.gz", "standard.nii.gz"]


def rot(axis, deg):
    """3x3 rotation by deg degrees about world axis 0 (R), 1 (A) or 2 (S)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    m = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def affine(cols, zooms, rotation=np.eye(3), offset=(-10.0, 20.0, 5.0)):
    """4x4 affine whose voxel axis a points along cols[a] (a unit world vector), scaled by zooms."""
    a = np.eye(4)
    a[:3, :3] = rotation @ np.array(cols, dtype=float).T @ np.diag(zooms)
    a[:3, 3] = offset
    return a


def write_volume(name, raw, *, version=1, big_endian=False, gz=False, sform=None, qform=None,
                 slope=None, inter=None, cal=None, zooms=None):
    """Header by nibabel, data bytes by us: raw is stored exactly as given."""
    order = ">" if big_endian else "<"
    hdr = (nib.Nifti1Header if version == 1 else nib.Nifti2Header)(endianness=order)
    hdr.set_data_shape(raw.shape)
    hdr.set_data_dtype(raw.dtype)
    if zooms is not None:
        hdr.set_zooms(tuple(zooms) + (1.0,) * (raw.ndim - len(zooms)))
    if qform is not None:
        hdr.set_qform(qform, code=1)
    if sform is not None:
        hdr.set_sform(sform, code=2)
    if slope is not None:
        hdr["scl_slope"], hdr["scl_inter"] = slope, inter
    if cal is not None:
        hdr["cal_min"], hdr["cal_max"] = cal
    hdr["vox_offset"] = 352 if version == 1 else 544
    body = hdr.binaryblock + b"\0\0\0\0" + raw.astype(raw.dtype.newbyteorder(order)).tobytes(order="F")
    if gz:
        body = gzip.compress(body, compresslevel=9, mtime=0)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(body)
    return name


def generate(rng):
    """The gen_* volumes; returns their file names."""
    names = []
    # int16 + scl_slope/inter (float32 0.1 is inexact: tests the double rounding), qform only,
    # permuted axes i->A, j->S, k->L (det < 0: qfac = -1)
    raw = rng.integers(-3000, 3000, size=(7, 6, 5)).astype(np.int16)
    q = affine([(0, 1, 0), (0, 0, 1), (-1, 0, 0)], (1.5, 2.0, 3.0))
    names.append(write_volume("gen_int16_scl_qform.nii", raw, qform=q, slope=np.float32(0.1),
                              inter=np.float32(-3.7), zooms=(1.5, 2.0, 3.0)))
    # float64 big-endian, oblique sform: i->P, j->R, k->I turned 25 deg about R and 10 deg about S
    raw = rng.normal(0, 100, size=(6, 7, 8))
    s = affine([(0, -1, 0), (1, 0, 0), (0, 0, -1)], (1.0, 1.2, 2.5), rot(2, 10) @ rot(0, 25))
    names.append(write_volume("gen_float64_be_oblique.nii", raw, big_endian=True, sform=s, qform=s,
                              zooms=(1.0, 1.2, 2.5)))
    # NIfTI-2 float32, 4-D (3 volumes), scaled, sform i->S, j->L, k->P over an identity qform
    raw = rng.normal(0, 10, size=(5, 6, 4, 3)).astype(np.float32)
    s = affine([(0, 0, 1), (-1, 0, 0), (0, -1, 0)], (2.0, 1.0, 1.5))
    names.append(write_volume("gen_float32_n2_4d.nii", raw, version=2, sform=s, qform=np.eye(4),
                              slope=2.5, inter=1.0, zooms=(2.0, 1.0, 1.5)))
    # uint8 .nii.gz, RAS sform, cal_min/cal_max set (the "auto" window uses them)
    raw = rng.integers(0, 256, size=(9, 8, 3)).astype(np.uint8)
    names.append(write_volume("gen_uint8_cal.nii.gz", raw, gz=True, sform=affine(np.eye(3), (1, 1, 1)),
                              cal=(np.float32(20), np.float32(200))))
    # uint16, no transform (both codes 0): voxel axes are RAS
    raw = rng.integers(0, 65536, size=(4, 5, 6)).astype(np.uint16)
    names.append(write_volume("gen_uint16_noxform.nii", raw, zooms=(1.0, 2.0, 3.0)))
    # NIfTI-2 big-endian int32 .nii.gz, qform turned 30 deg about A with a flipped first axis
    raw = rng.integers(-2**31, 2**31 - 1, size=(6, 5, 4), dtype=np.int64).astype(np.int32)
    q = affine([(-1, 0, 0), (0, 1, 0), (0, 0, 1)], (1, 1, 1), rot(1, 30))
    names.append(write_volume("gen_int32_n2_be.nii.gz", raw, version=2, big_endian=True, gz=True, qform=q))
    # int8, 2-D (dim[0] = 2), RAS sform
    raw = rng.integers(-128, 128, size=(5, 4)).astype(np.int8)
    names.append(write_volume("gen_int8_2d.nii", raw, sform=affine(np.eye(3), (1, 1, 1))))
    # uint32 with a scaled intercept only (slope 1: only the addition happens), sform LPS
    raw = rng.integers(0, 2**32 - 1, size=(3, 4, 5), dtype=np.int64).astype(np.uint32)
    s = affine([(-1, 0, 0), (0, -1, 0), (0, 0, 1)], (0.5, 0.5, 0.5))
    names.append(write_volume("gen_uint32_inter.nii", raw, sform=s, slope=1.0, inter=np.float32(-5.25)))
    return names


def sha(a):
    return hashlib.sha256(a).hexdigest()


def window(x, spec, cal_min, cal_max):
    """io/nifti.h's window in float64, then float32; returns (kind, lo, hi, out)."""
    if spec == "auto" and math.isfinite(cal_min) and math.isfinite(cal_max) and cal_max > cal_min:
        kind, lo, hi = "cal", cal_min, cal_max
    elif spec in ("auto", "minmax"):
        fin = x[np.isfinite(x)]
        kind = "minmax"
        lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 0.0)
    else:
        c, w = (float(v) for v in spec.split(","))
        lo_t, hi_t = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(x <= lo_t, 0.0, np.where(x > hi_t, 1.0, (x - (c - 0.5)) / (w - 1) + 0.5))
        return "center-width", lo_t, hi_t, np.nan_to_num(y, nan=0.0).astype(np.float32)
    if hi > lo:
        y = np.where(x <= lo, 0.0, np.where(x >= hi, 1.0, (x - lo) / (hi - lo)))
    else:
        y = np.zeros_like(x)
    return kind, lo, hi, np.nan_to_num(y, nan=0.0).astype(np.float32)


def display(canon, plane, k, t):
    """Radiological display slice of the canonical (x, y, z, t) array."""
    s = canon[k, :, :, t] if plane == 0 else canon[:, k, :, t] if plane == 1 else canon[:, :, k, t]
    return np.ascontiguousarray(s.T[::-1, ::-1], dtype="<f8")


def describe(name, rng):
    img = nib.load(os.path.join(OUT, name))
    hdr = img.header
    data = img.get_fdata()
    assert data.dtype == np.float64
    shape = list(data.shape)
    d3 = shape[:3] + [1] * (3 - min(3, len(shape)))
    vol = data.reshape(d3 + [-1], order="F")
    no_xform = int(hdr["sform_code"]) == 0 and int(hdr["qform_code"]) == 0
    zooms = (list(hdr.get_zooms()[:3]) + [1.0, 1.0])[:3]
    aff = np.diag(zooms + [1.0]) if no_xform else img.affine
    codes = "".join(nib.aff2axcodes(aff))
    canon_img = nib.as_closest_canonical(nib.Nifti1Image(vol, aff))
    assert "".join(nib.aff2axcodes(canon_img.affine)) == "RAS"
    canon = np.asarray(canon_img.dataobj)
    flat = data.reshape(-1, order="F")
    idx = sorted(set(int(i) for i in rng.integers(0, flat.size, size=6)) | {0, flat.size - 1})
    cal_min, cal_max = float(hdr["cal_min"]), float(hdr["cal_max"])
    nvol = vol.shape[3]
    specs = [("axial", None, 0, "auto"), ("coronal", 1, nvol - 1, "minmax"), ("sagittal", None, 0, "auto"),
             ("axial", 0, nvol // 2, "%g,%g" % (float(np.median(flat)), max(1.0, float(np.std(flat)))))]
    slices = []
    for axis, k, t, win in specs:
        plane = ["sagittal", "coronal", "axial"].index(axis)
        kk = canon.shape[plane] // 2 if k is None else k
        disp = display(canon, plane, kk, t)
        kind, lo, hi, y = window(disp, win, cal_min, cal_max)
        slices.append({
            "spec": axis if k is None else "%s:%d" % (axis, k), "volume": t, "index": kk,
            "h": disp.shape[0], "w": disp.shape[1], "sha256": sha(disp.tobytes()),
            "first": [float(v) for v in disp.reshape(-1)[:3]],
            "window": win, "window_kind": kind, "lo": lo, "hi": hi,
            "window_sha256": sha(np.ascontiguousarray(y, dtype="<f4").tobytes()),
        })
    # nibabel moves the scale factors into the array proxy (the loaded header says NaN):
    # 1 and 0 when the file's slope is 0 or not finite
    slope, inter = float(img.dataobj.slope), float(img.dataobj.inter)
    return {
        "file": name,
        "version": 2 if isinstance(hdr, nib.Nifti2Header) else 1,
        "big_endian": hdr.endianness == ">",
        "shape": shape,
        "datatype": str(hdr.get_data_dtype().newbyteorder("=").name),
        "vox_offset": int(img.dataobj.offset),
        "scl_slope": slope,
        "scl_inter": inter,
        "cal_min": cal_min, "cal_max": cal_max,
        "sform_code": int(hdr["sform_code"]), "qform_code": int(hdr["qform_code"]),
        "axcodes": codes,
        "data_sha256": sha(np.ascontiguousarray(flat, dtype="<f8").tobytes()),
        "samples": [[i, float(flat[i])] for i in idx],
        "slices": slices,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)
    rng = np.random.default_rng(20240611)
    for n in COPIED:
        shutil.copyfile(os.path.join(NIB_DATA, n), os.path.join(OUT, n))
    names = COPIED + generate(rng)
    golden = {"nibabel": nib.__version__, "numpy": np.__version__, "files": [describe(n, rng) for n in names]}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    for n in names:
        if os.path.getsize(os.path.join(OUT, n)) < 4096:
            shutil.copyfile(os.path.join(OUT, n), os.path.join(CORPUS, n))
    for e in golden["files"]:
        print("%-28s v%d %-8s %-14s %s %s" % (e["file"], e["version"], e["datatype"], e["shape"], e["axcodes"],
                                             "scl %g %g" % (e["scl_slope"], e["scl_inter"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
