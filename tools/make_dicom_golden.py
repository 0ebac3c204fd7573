#!/usr/bin/env python3
"""make_dicom_golden.py - test files and golden outputs for tests/test_dicom.c.

Needs the Debian packages python3-pydicom (2.3), python3-numpy and dcmtk.
Run from the repository root:  /usr/bin/python3 tools/make_dicom_golden.py

1. Copies a few small files of pydicom's test set (MIT/Expat, see
   tests/data/dicom/ATTRIBUTION.md) into tests/data/dicom/.
2. Derives more with dcmtk and pydicom: JPEG lossless (dcmcjpeg, every
   predictor, a point transform), MONOCHROME1 (dcmodify), RGB with
   PlanarConfiguration 1, a file without preamble and meta group.
3. Writes tests/data/dicom/golden.json: for each file its header numbers
   and, per frame, the SHA-256 of the stored values (pydicom pixel_array,
   before rescale) as little-endian int64 in (samples, rows, cols) order,
   plus the first values. Where pydicom cannot decode the syntax here
   (JPEG lossless, and JPEG baseline for which we want dcmtk's decoder),
   the file is first made uncompressed with dcmdjpeg and then read by
   pydicom; "made_by" records which. JPEG baseline frames are lossy across
   decoders (IDCT and colour conversion rounding), so their reference is
   also written as <file>.ref.npy (uint8, (samples, rows, cols)) and the
   test allows +-1. Windowed references (pydicom apply_modality_lut +
   apply_voi_lut, mapped to [0,1] by pydicom's own output range) are
   written as float32 .npy for MR_small (file window) and CT_small
   (explicit window 40/400).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut

SRC = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
OUT = "tests/data/dicom"

COPIED = [
    "CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm",
    "image_dfl.dcm", "ExplVR_BigEnd.dcm", "SC_rgb_small_odd.dcm", "SC_rgb_rle.dcm", "SC_rgb_rle_16bit.dcm",
    "SC_rgb_rle_2frame.dcm", "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_32bit.dcm", "rtdose.dcm",
    "rtdose_rle.dcm", "rtdose_expb.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm",
    "SC_rgb_small_odd_jpeg.dcm", "SC_rgb_jpeg_gdcm.dcm",
    # refused or broken on purpose
    "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPGExtended.dcm", "MR_truncated.dcm",
]


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def derive():
    """Files made here from the copied ones; returns {name: how}."""
    made = {}
    mr, ct = os.path.join(OUT, "MR_small.dcm"), os.path.join(OUT, "CT_small.dcm")
    for sv in range(1, 8):
        name = "MR_small_jpll_sv%d.dcm" % sv
        flags = ["+e1"] if sv == 1 else ["+el", "+sv", str(sv)]
        run("dcmcjpeg", *flags, mr, os.path.join(OUT, name))
        made[name] = "dcmcjpeg %s MR_small.dcm" % " ".join(flags)
    run("dcmcjpeg", "+el", "+sv", "7", "+pt", "2", ct, os.path.join(OUT, "CT_small_jpll_sv7_pt2.dcm"))
    made["CT_small_jpll_sv7_pt2.dcm"] = "dcmcjpeg +el +sv 7 +pt 2 CT_small.dcm"
    mono1 = os.path.join(OUT, "MR_small_mono1.dcm")
    shutil.copy(mr, mono1)
    run("dcmodify", "-nb", "-m", "(0028,0004)=MONOCHROME1", mono1)
    made["MR_small_mono1.dcm"] = "dcmodify -m (0028,0004)=MONOCHROME1 MR_small.dcm"
    ds = pydicom.dcmread(os.path.join(OUT, "SC_rgb_small_odd.dcm"))
    arr = ds.pixel_array
    ds.PlanarConfiguration = 1
    data = np.ascontiguousarray(arr.transpose(2, 0, 1)).tobytes()
    ds.PixelData = data + (b"\0" if len(data) % 2 else b"")
    ds.save_as(os.path.join(OUT, "SC_rgb_small_odd_planar1.dcm"))
    made["SC_rgb_small_odd_planar1.dcm"] = "pydicom: SC_rgb_small_odd.dcm with PlanarConfiguration 1 and planes"
    raw = open(os.path.join(OUT, "MR_small_implicit.dcm"), "rb").read()
    meta = pydicom.dcmread(os.path.join(OUT, "MR_small_implicit.dcm")).file_meta
    start = 132 + 12 + meta.FileMetaInformationGroupLength
    open(os.path.join(OUT, "MR_small_nometa.dcm"), "wb").write(raw[start:])
    made["MR_small_nometa.dcm"] = "MR_small_implicit.dcm without the preamble and file meta group"
    return made


def frames_of(arr, ds):
    """pixel_array -> (frames, samples, rows, cols)."""
    nf = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    if nf == 1:
        arr = arr[None]
    if spp == 1:
        arr = arr[:, None]
    else:
        arr = arr.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(arr)


def decoded(path, ts):
    """(pixel array, dataset, made_by) with pydicom, via dcmdjpeg for JPEG."""
    if ts.startswith("1.2.840.10008.1.2.4."):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "u.dcm")
            run("dcmdjpeg", path, out)
            ds = pydicom.dcmread(out)
            return ds.pixel_array, ds, "dcmdjpeg (dcmtk %s) then pydicom %s pixel_array" % (dcmtk_version(), pydicom.__version__)
    ds = pydicom.dcmread(path)
    return ds.pixel_array, ds, "pydicom %s pixel_array" % pydicom.__version__


def dcmtk_version():
    out = subprocess.run(["dcmdjpeg", "--version"], capture_output=True, text=True).stdout
    return out.split("v", 1)[1].split()[0] if "v" in out else "?"


def number(ds, key):
    v = ds.get(key)
    if v is None:
        return None
    if isinstance(v, pydicom.multival.MultiValue):
        v = v[0]
    return float(v)


def golden_entry(name, how):
    path = os.path.join(OUT, name)
    hdr = pydicom.dcmread(path)
    ts = str(hdr.file_meta.TransferSyntaxUID)
    arr, ds, made_by = decoded(path, ts)
    f = frames_of(arr, ds).astype("<i8")
    e = {
        "file": name, "source": how, "transfer_syntax": ts, "made_by": made_by,
        "rows": int(ds.Rows), "cols": int(ds.Columns), "samples": int(ds.SamplesPerPixel),
        "frames": int(f.shape[0]), "bits_allocated": int(hdr.BitsAllocated), "bits_stored": int(hdr.BitsStored),
        "pixel_representation": int(hdr.PixelRepresentation), "photometric": str(hdr.PhotometricInterpretation),
        "rescale_slope": number(hdr, "RescaleSlope"), "rescale_intercept": number(hdr, "RescaleIntercept"),
        "window_center": number(hdr, "WindowCenter"), "window_width": number(hdr, "WindowWidth"),
        "frame_sha256": [hashlib.sha256(fr.tobytes()).hexdigest() for fr in f],
        "first_values": [int(v) for v in f[0].ravel()[:8]],
        "min": int(f.min()), "max": int(f.max()),
    }
    if ts == "1.2.840.10008.1.2.4.50":
        ref = name[:-4] + ".ref.npy"
        np.save(os.path.join(OUT, ref), f[0].astype(np.uint8))
        e["lossy_reference"] = ref
        # +-1 from IDCT and colour-conversion rounding; subsampled chroma
        # (YBR_FULL_422) adds the upsampling filter (stb's and libjpeg's
        # "fancy" triangle filters round differently): +-2.
        e["tolerance"] = 2 if str(hdr.PhotometricInterpretation) == "YBR_FULL_422" else 1
    return e


def window_reference(name, center, width, out):
    """pydicom's modality + VOI LUT, mapped to [0,1] by its output range."""
    ds = pydicom.dcmread(os.path.join(OUT, name))
    if center is not None:
        ds.WindowCenter, ds.WindowWidth = center, width
    arr = ds.pixel_array
    y = apply_voi_lut(apply_modality_lut(arr, ds), ds, index=0)
    bs = int(ds.BitsStored)
    lo, hi = (0, 2 ** bs - 1) if ds.PixelRepresentation == 0 else (-2 ** (bs - 1), 2 ** (bs - 1) - 1)
    if "RescaleSlope" in ds:
        lo, hi = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept), hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.save(os.path.join(OUT, out), ((y - lo) / (hi - lo)).astype(np.float32))
    return {"file": name, "reference": out, "center": float(ds.WindowCenter), "width": float(ds.WindowWidth),
            "made_by": "pydicom %s apply_modality_lut + apply_voi_lut (LINEAR), (y - y_min) / (y_max - y_min)" % pydicom.__version__}


def main():
    os.makedirs(OUT, exist_ok=True)
    for n in COPIED:
        shutil.copy(os.path.join(SRC, n), os.path.join(OUT, n))
    made = derive()
    entries = []
    readable = [n for n in COPIED if n not in ("MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
                                               "JPGExtended.dcm", "MR_truncated.dcm")]
    for n in readable:
        entries.append(golden_entry(n, "pydicom test file"))
    for n, how in made.items():
        if n == "MR_small_nometa.dcm":
            continue   # pydicom needs the meta group; same pixels as MR_small_implicit
        entries.append(golden_entry(n, how))
    ref = {e["file"]: e for e in entries}
    for sv in range(1, 8):   # lossless means lossless: the same values as the source
        assert ref["MR_small_jpll_sv%d.dcm" % sv]["frame_sha256"] == ref["MR_small.dcm"]["frame_sha256"]
    windows = [window_reference("MR_small.dcm", None, None, "MR_small_window_file.npy"),
               window_reference("CT_small.dcm", 40.0, 400.0, "CT_small_window_40_400.npy")]
    doc = {"tool": "tools/make_dicom_golden.py", "pydicom": pydicom.__version__, "dcmtk": dcmtk_version(),
           "stored_values": "SHA-256 of little-endian int64, (samples, rows, cols) per frame",
           "files": entries, "windows": windows}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print("%d files, %d golden entries, %d bytes in %s" % (len(os.listdir(OUT)), len(entries), total, OUT))


if __name__ == "__main__":
    sys.exit(main())
