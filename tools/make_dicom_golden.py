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
   also written as <file>.ref.npy (uint8, (frames, samples, rows, cols)) and the
   test allows +-1. Windowed references (pydicom apply_modality_lut +
   apply_voi_lut, mapped to [0,1] by pydicom's own output range) are
   written as float32 .npy for MR_small (file window) and CT_small
   (explicit window 40/400).

With --dcm2pnm (after `make`; the files above stay as they are) it writes
tests/data/dicom/dcm2pnm.json, dcmtk's rendering of the same files, for
tests/test_dicom.c:
  - stored values: dcm2pnm (dcmj2pnm, the same program with dcmtk's JPEG
    decoders, for JPEG syntaxes) with the modality LUT and NO VOI window
    (-W), presentation LUT IDENTITY (+Pid, so MONOCHROME1 is not
    inverted), all frames (+Fa), n-bit ASCII PNM with n = BitsStored
    (+opn n). Its output is then v = x - x_min, x_min the smallest value
    BitsStored allows (dcmtk maps the full range of possible values onto
    0..2^n-1, and with n = BitsStored that is a shift; the modality
    rescale cancels out). Recorded: per frame the SHA-256 of v + x_min as
    little-endian int64, the format of golden.json, so the test compares
    it with salient's stored values exactly. Checked here: equal to
    golden.json's hashes for every exactly coded file.
  - JPEG baseline (lossy): the same hash of dcmj2pnm's 8-bit output, which
    must equal the committed <file>.ref.npy (checked here), plus the
    measured max |salient - dcmj2pnm| and max |salient - pydicom| (pydicom
    decodes JPEG baseline with Pillow); salient's values come from
    `build/tests/test_dicom --dump FILE`.
  - windowed: dcm2pnm +Wi 1 (the file's first window) or +Ww C W, 8-bit
    (+opn 8), saved as uint8 .npy (small files), for the test to compare
    with salient's [0,1] output scaled by 255.
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
    "SC_rgb_jpeg.dcm",   # declared explicit VR, encoded implicit VR (read by the fallback)
    "SC_rgb_dcmtk_+eb+cr.dcm", "SC_rgb_jpeg_lossy_gdcm.dcm",   # JPEG baseline, photometric RGB: no YCbCr transform
    # refused or broken on purpose
    "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPGExtended.dcm", "MR_truncated.dcm",
]


PILLOW_ONLY = {"SC_rgb_jpeg.dcm"}


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
    with tempfile.TemporaryDirectory() as tmp:
        u = os.path.join(tmp, "u.dcm")
        run("dcmdrle", os.path.join(OUT, "SC_rgb_rle_2frame.dcm"), u)
        run("dcmcjpeg", "+eb", "+un", "+fs", "1", u, os.path.join(OUT, "SC_rgb_2frame_jpeg_frag.dcm"))
        made["SC_rgb_2frame_jpeg_frag.dcm"] = "dcmdrle SC_rgb_rle_2frame.dcm; dcmcjpeg +eb +fs 1 (1 KB fragments, offset table)"
        ds = pydicom.dcmread(os.path.join(OUT, "image_dfl.dcm"))
        crop = np.ascontiguousarray(ds.pixel_array[200:264, 200:264])
        ds.Rows, ds.Columns, ds.PixelData = 64, 64, crop.tobytes()
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.save_as(u)
        run("dcmcjpeg", "+eb", "+un", u, os.path.join(OUT, "dfl_crop_jpeg_mono.dcm"))
        made["dfl_crop_jpeg_mono.dcm"] = "image_dfl.dcm cropped to 64x64 at (200,200), dcmcjpeg +eb (8-bit monochrome)"
    run("dcmcjpeg", "+e1", "+fs", "1", mr, os.path.join(OUT, "MR_small_jpll_frag.dcm"))
    made["MR_small_jpll_frag.dcm"] = "dcmcjpeg +e1 +fs 1 MR_small.dcm (one frame in 1 KB fragments)"
    for name, interval, sv in (("MR_small_jpll_rst128.dcm", 128, 1), ("MR_small_jpll_rst192_sv5.dcm", 192, 5)):
        write_lossless_dicom(mr, os.path.join(OUT, name), sv, interval)
        made[name] = "our lossless JPEG writer (make_dicom_golden.py): predictor %d, restart every %d samples" % (sv, interval)
    write_lossless_dicom(mr, os.path.join(OUT, "MR_small_jpll_rst100.dcm"), 1, 100)
    made["MR_small_jpll_rst100.dcm"] = "our lossless JPEG writer: restart every 100 samples (mid-line; refused)"
    raw = open(os.path.join(OUT, "MR_small_implicit.dcm"), "rb").read()
    meta = pydicom.dcmread(os.path.join(OUT, "MR_small_implicit.dcm")).file_meta
    start = 132 + 12 + meta.FileMetaInformationGroupLength
    open(os.path.join(OUT, "MR_small_nometa.dcm"), "wb").write(raw[start:])
    made["MR_small_nometa.dcm"] = "MR_small_implicit.dcm without the preamble and file meta group"
    return made


def lossless_jpeg(img, precision, predictor, restart):
    """A minimal lossless JPEG (T.81 process 14) of one component, made
    here only to cover restart intervals, which dcmcjpeg does not write.
    Huffman table: the 17 categories with 5-bit codes. The result is
    checked against dcmtk's decoder before it is used (decoded())."""
    h, w = img.shape
    out = bytearray(b"\xff\xd8")
    seg = lambda m, body: out.extend(bytes([0xFF, m]) + (len(body) + 2).to_bytes(2, "big") + body)
    seg(0xC3, bytes([precision]) + h.to_bytes(2, "big") + w.to_bytes(2, "big") + bytes([1, 1, 0x11, 0]))
    seg(0xC4, bytes([0x00]) + bytes([0, 0, 0, 0, 17] + [0] * 11) + bytes(range(17)))
    if restart:
        seg(0xDD, restart.to_bytes(2, "big"))
    seg(0xDA, bytes([1, 1, 0x00, predictor, 0, 0]))
    bits = []
    def flush():
        while len(bits) % 8:
            bits.append(1)
        for i in range(0, len(bits), 8):
            byte = int("".join(map(str, bits[i:i + 8])), 2)
            out.append(byte)
            if byte == 0xFF:
                out.append(0)
        bits.clear()
    x = img.astype(np.int64) & 0xFFFF
    rx = ry = 0
    for i in range(h * w):
        yy, xx = divmod(i, w)
        if restart and i and i % restart == 0:
            flush()
            out.extend(bytes([0xFF, 0xD0 + (i // restart - 1) % 8]))
            rx, ry = xx, yy
        if (xx, yy) == (rx, ry):
            px = 1 << (precision - 1)
        elif yy == ry:
            px = x[yy, xx - 1]
        elif xx == 0:
            px = x[yy - 1, 0]
        else:
            ra, rb, rc = int(x[yy, xx - 1]), int(x[yy - 1, xx]), int(x[yy - 1, xx - 1])
            px = [0, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1), (ra + rb) >> 1][predictor]
        d = (int(x[yy, xx]) - int(px)) & 0xFFFF
        d = d - 65536 if d > 32768 else d
        ssss = 16 if d == 32768 else abs(d).bit_length()
        bits.extend(int(b) for b in format(ssss, "05b"))
        if 0 < ssss < 16:
            v = d if d > 0 else (d - 1) & ((1 << ssss) - 1)
            bits.extend(int(b) for b in format(v, "0%db" % ssss))
    flush()
    out.extend(b"\xff\xd9")
    return bytes(out)


def write_lossless_dicom(src, dst, predictor, restart):
    ds = pydicom.dcmread(src)
    frag = lossless_jpeg(ds.pixel_array, int(ds.BitsStored), predictor, restart)
    frag += b"\0" if len(frag) % 2 else b""
    ds.PixelData = pydicom.encaps.encapsulate([frag])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.70" if predictor == 1 else "1.2.840.10008.1.2.4.57"
    ds.is_implicit_VR, ds.is_little_endian = False, True
    ds.save_as(dst)


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
    if ts.startswith("1.2.840.10008.1.2.4.") and os.path.basename(path) in PILLOW_ONLY:
        ds = pydicom.dcmread(path)   # dcmtk cannot parse it; pydicom decodes with Pillow (libjpeg-turbo)
        return ds.pixel_array, ds, "pydicom %s pixel_array (Pillow); dcmtk refuses the file" % pydicom.__version__
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
        np.save(os.path.join(OUT, ref), f.astype(np.uint8))
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


def dcmtk_program_version(prog):
    out = subprocess.run([prog, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip("$ ").replace("dcmtk: ", "") if out else "?"


def read_pnm(path):
    """ASCII PGM/PPM (P2/P3) -> (samples, rows, cols) int64."""
    t = open(path, "rb").read().split()
    kind, w, h = t[0], int(t[1]), int(t[2])
    v = np.array([int(x) for x in t[4:]], dtype=np.int64)
    return v.reshape(h, w, 3).transpose(2, 0, 1) if kind == b"P3" else v.reshape(1, h, w)


def dcmtk_render(name, options):
    """Every frame dcm2pnm (dcmj2pnm for JPEG) writes with options, or the error message."""
    hdr = pydicom.dcmread(os.path.join(OUT, name), stop_before_pixels=True)
    prog = "dcmj2pnm" if str(hdr.file_meta.TransferSyntaxUID).startswith("1.2.840.10008.1.2.4.") else "dcm2pnm"
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([prog, *options, "+Fa", os.path.join(OUT, name), os.path.join(tmp, "f")],
                           capture_output=True, text=True)
        files = sorted(os.listdir(tmp), key=lambda f: int(f.split(".")[1]))
        if r.returncode or not files:
            return prog, None, (r.stderr.strip().splitlines() or ["no output"])[-1]
        return prog, [read_pnm(os.path.join(tmp, f)) for f in files], None


def salient_stored(name):
    """salient's stored values (frames, samples, rows, cols) via test_dicom --dump."""
    out = subprocess.run(["build/tests/test_dicom", "--dump", os.path.join(OUT, name)], capture_output=True,
                         text=True, check=True).stdout.split()
    shape = [int(x) for x in out[:4]]
    return np.array([int(x) for x in out[4:]], dtype=np.int64).reshape(shape)


def sha_int64(a):
    return hashlib.sha256(np.ascontiguousarray(a).astype("<i8").tobytes()).hexdigest()


# Bounds for JPEG baseline across two decoders (see tests/test_dicom.c):
# ISO/IEC 10918-2 lets each decoded sample be within 1 of the reference
# decoder's, so two compliant decoders are within 2 of each other; the
# YCbCr -> RGB transform multiplies a chroma error by up to 1.772 and each
# decoder rounds once more: 2 + 2 * 1.772 + 1 -> 6. Chroma upsampling (4:2:2)
# is not specified by the standard: no bound, the measured value is kept.
def jpeg_bound(photometric):
    return {"MONOCHROME2": 2, "MONOCHROME1": 2, "RGB": 2, "YBR_FULL": 6}.get(photometric)


def dcm2pnm_golden():
    golden = json.load(open(os.path.join(OUT, "golden.json")))
    entries = []
    for e in golden["files"]:
        name, bs = e["file"], e["bits_stored"]
        lossy = e["transfer_syntax"] == "1.2.840.10008.1.2.4.50"
        options = ["-W", "+Pid", "+opn", str(bs)]
        prog, frames, error = dcmtk_render(name, options)
        d = {"file": name, "program": prog, "options": " ".join(options + ["+Fa"])}
        if error:
            d["refused"] = error
            if lossy:   # measured against pydicom alone
                d["max_diff_pydicom"] = int(np.abs(salient_stored(name) - pydicom_rgb(name)).max())
            entries.append(d)
            continue
        x_min = 0 if e["pixel_representation"] == 0 or e["samples"] == 3 else -2 ** (bs - 1)
        d["frame_sha256"] = [sha_int64(f + x_min) for f in frames]
        if not lossy and d["frame_sha256"] != e["frame_sha256"] and e["bits_allocated"] == 32 and "2.2" == e["transfer_syntax"][-3:]:
            # dcmtk reads 32-bit big endian OW as 16-bit words and joins them low word first:
            # its value is pydicom's with the two 16-bit halves swapped (checked here)
            ours = salient_stored(name)
            swapped = ((ours & 0xFFFF) << 16) | (ours >> 16)
            assert [sha_int64(f) for f in swapped] == d["frame_sha256"], name
            assert [sha_int64(f) for f in ours] == e["frame_sha256"], name
            d["coding"] = "exact"
            d["dcmtk_halves_swapped"] = True
        elif not lossy:
            assert d["frame_sha256"] == e["frame_sha256"], name   # dcmtk and pydicom agree exactly
            d["coding"] = "exact"
        else:
            ref = np.load(os.path.join(OUT, e["lossy_reference"]))
            assert [sha_int64(r) for r in ref] == d["frame_sha256"], name   # the .ref.npy is dcmtk's output
            ours = salient_stored(name)
            d.update({"coding": "lossy", "reference": e["lossy_reference"], "photometric": e["photometric"],
                      "bound": jpeg_bound(e["photometric"]),
                      "max_diff_dcm2pnm": int(np.abs(ours - np.stack(frames)).max())})
            try:
                py = pydicom_rgb(name)
                d["max_diff_pydicom"] = int(np.abs(ours - py).max())
                d["pydicom_vs_dcm2pnm"] = int(np.abs(py - np.stack(frames)).max())
            except Exception as ex:   # Pillow cannot decode every file pydicom hands it
                d["pydicom_error"] = "%s: %s" % (type(ex).__name__, ex)
        entries.append(d)
    windows = []
    for name, options, out in (("MR_small.dcm", ["+Wi", "1"], "MR_small_dcm2pnm_Wi1.npy"),
                               ("MR_small_mono1.dcm", ["+Wi", "1"], "MR_small_mono1_dcm2pnm_Wi1.npy"),
                               ("CT_small.dcm", ["+Ww", "40", "400"], "CT_small_dcm2pnm_Ww_40_400.npy")):
        prog, frames, error = dcmtk_render(name, options + ["+opn", "8"])
        assert not error, error
        np.save(os.path.join(OUT, out), frames[0][0].astype(np.uint8))
        w = {"file": name, "program": prog, "options": " ".join(options + ["+opn", "8"]), "reference": out}
        if options[0] == "+Ww":
            w["center"], w["width"] = float(options[1]), float(options[2])
        windows.append(w)
    import PIL
    doc = {"tool": "tools/make_dicom_golden.py --dcm2pnm", "dcm2pnm": dcmtk_program_version("dcm2pnm"),
           "dcmj2pnm": dcmtk_program_version("dcmj2pnm"), "pydicom": pydicom.__version__, "pillow": PIL.__version__,
           "stored_values": "SHA-256 of little-endian int64 v + x_min, (samples, rows, cols) per frame",
           "files": entries, "windows": windows}
    with open(os.path.join(OUT, "dcm2pnm.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    for d in entries:
        print("%-32s %-8s %s" % (d["file"], d.get("coding", "refused"),
                                 d.get("refused") or ("max |salient - dcm2pnm| %d, |salient - pydicom| %s, |pydicom - dcm2pnm| %s"
                                                      % (d["max_diff_dcm2pnm"], d.get("max_diff_pydicom", "-"),
                                                         d.get("pydicom_vs_dcm2pnm", d.get("pydicom_error")))
                                                      if d["coding"] == "lossy" else "")))


def pydicom_rgb(name):
    """pydicom's pixel_array (Pillow's JPEG decoder), YBR converted to RGB with
    pydicom's convert_color_space as a pydicom user gets RGB; (frames, samples, rows, cols)."""
    from pydicom.pixel_data_handlers.util import convert_color_space
    ds = pydicom.dcmread(os.path.join(OUT, name))
    arr = ds.pixel_array
    if str(ds.PhotometricInterpretation).startswith("YBR"):
        arr = convert_color_space(arr, str(ds.PhotometricInterpretation), "RGB")
    return frames_of(arr, hdr_of(name)).astype(np.int64)


def hdr_of(name):
    return pydicom.dcmread(os.path.join(OUT, name), stop_before_pixels=True)


def main():
    if sys.argv[1:] == ["--dcm2pnm"]:
        return dcm2pnm_golden()
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
        if n in ("MR_small_nometa.dcm", "MR_small_jpll_rst100.dcm"):
            continue   # pydicom needs the meta group; same pixels as MR_small_implicit
        entries.append(golden_entry(n, how))
    ref = {e["file"]: e for e in entries}
    # lossless means lossless: the same values as the source, by dcmtk's decoder
    for n in ["MR_small_jpll_sv%d.dcm" % sv for sv in range(1, 8)] + ["MR_small_jpll_frag.dcm",
              "MR_small_jpll_rst128.dcm", "MR_small_jpll_rst192_sv5.dcm"]:
        assert ref[n]["frame_sha256"] == ref["MR_small.dcm"]["frame_sha256"], n
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
