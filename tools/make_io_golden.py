#!/usr/bin/python3
"""make_io_golden.py - reference data for tests/test_io.c and tests/test_safetensors.c.

Run from the repository root:
    /usr/bin/python3 tools/make_io_golden.py
Needs Debian's python3-numpy, python3-torch and python3-pil. Writes small
files into tests/data/io/ (a few KB each) and the fuzz seed corpus into
tests/fuzz/corpus/. Deterministic: fixed seeds, so rerunning rewrites the
same bytes (except JPEG, whose encoder may change between Pillow versions).

What each file is for:
  rgb_37x53.png (+ _u8.npy raw pixels)     decode of an 8-bit RGB PNG, 37 wide x 53 high
  rgb_{down,up,mixed}_*.npy                torch interpolate(bilinear, align_corners=False,
                                           antialias=True) of rgb/255, shape (3, oh, ow)
  rgb_lum.npy                              0.299 R + 0.587 G + 0.114 B in float64 -> float32
  rgb_lum_pil.npy                          PIL convert('L') (rounded to integers by PIL)
  gray16_29x31.png, gray16.pgm (+ _raw.npy as <i4)   16-bit gray decode, 29 wide x 31 high
  gray16_down_11x7.npy                     torch resize of gray16/65535 to 7 high x 11 wide
  rgba_9x7.png, la_5x4.png (+ raw .npy)    alpha is dropped
  rgb_6x5.{bmp,tga,ppm} (+ rgb_6x5_u8.npy) the other decoders
  gray_16x12.jpg (+ _pil.npy)              gray JPEG decoded by PIL (decoders may differ by a level)
  pre_*.npy                                image_preprocess references (ImageNet mean/std)
  scale_gray16_s16_p{99,37.5}.npy (+ _q)   image_scale_percentile: gray16 at 16 px divided by
                                           its torch.quantile (the q values), clamped to [0, 1]
  gain_base.pgm, gain_x07.pgm              16-bit gray, levels 10 k and 7 k: one image and the
                                           same exactly x0.7
  np_*.npy                                 numpy.save output of each dtype and header version
  tiny.safetensors (+ tiny_*.npy)          F32/F16/BF16/I64 tensors written with struct + json;
                                           expected float32 values converted by numpy/torch
"""
import io
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "io")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def path(name):
    return os.path.join(OUT, name)


def torch_resize(chw, oh, ow):
    """chw float array -> (c, oh, ow) float32 via torch's antialiased bilinear."""
    x = torch.from_numpy(np.ascontiguousarray(chw, dtype=np.float32))[None]
    y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False, antialias=True)
    return y[0].numpy().astype(np.float32)


def luminance(chw):
    r, g, b = (chw[i].astype(np.float64) for i in range(3))
    return (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32)


def make_images():
    rng = np.random.default_rng(20240601)
    h, w = 53, 37
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255.0 / (w - 1), yy * 255.0 / (h - 1), 127 + 120 * np.sin(xx / 3.0 + yy / 5.0)], -1)
    rgb = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).round().astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path("rgb_37x53.png"))
    np.save(path("rgb_37x53_u8.npy"), rgb)
    chw = rgb.transpose(2, 0, 1).astype(np.float32) / 255.0
    np.save(path("rgb_down_13x19.npy"), torch_resize(chw, 19, 13))
    np.save(path("rgb_up_61x80.npy"), torch_resize(chw, 80, 61))
    np.save(path("rgb_mixed_50x24.npy"), torch_resize(chw, 24, 50))
    np.save(path("rgb_lum.npy"), luminance(chw))
    np.save(path("rgb_lum_pil.npy"), np.asarray(Image.fromarray(rgb, "RGB").convert("L"), dtype=np.uint8))

    # image_preprocess references: resize -> channels -> normalize
    r24 = torch_resize(chw, 24, 24)
    np.save(path("pre_rgb_c3_s24.npy"), ((r24 - MEAN[:, None, None]) / STD[:, None, None]).astype(np.float32))
    np.save(path("pre_rgb_c1_s24.npy"), ((luminance(r24) - MEAN[0]) / STD[0]).astype(np.float32)[None])

    # 16-bit gray: PNG through PIL's I;16 mode, and a binary PGM by hand
    gh, gw = 31, 29
    gy, gx = np.mgrid[0:gh, 0:gw]
    g16 = np.clip(gx * 2000 + gy * 150 + rng.integers(0, 4000, (gh, gw)), 0, 65535).astype(np.uint16)
    g16[0, 0], g16[-1, -1] = 0, 65535
    Image.fromarray(g16, "I;16").save(path("gray16_29x31.png"))
    with open(path("gray16.pgm"), "wb") as f:
        f.write(b"P5\n%d %d\n65535\n" % (gw, gh))
        f.write(g16.astype(">u2").tobytes())
    np.save(path("gray16_raw.npy"), g16.astype("<i4"))
    g = g16.astype(np.float32)[None] / 65535.0
    np.save(path("gray16_down_11x7.npy"), torch_resize(g, 7, 11))
    r16 = torch_resize(g, 16, 16)
    pre = np.repeat(r16, 3, axis=0)
    np.save(path("pre_gray16_c3_s16.npy"), ((pre - MEAN[:, None, None]) / STD[:, None, None]).astype(np.float32))
    # image_scale_percentile: the 16 px gray image divided by its own percentile
    # (torch.quantile, linear interpolation) and clamped to [0, 1]
    qs = []
    for pct in (99, 37.5):
        x = torch.from_numpy(r16)
        q = torch.quantile(x.flatten(), pct / 100.0)
        qs.append(q.item())
        np.save(path("scale_gray16_s16_p%g.npy" % pct), (x / q).clamp(0, 1).numpy().astype(np.float32))
    np.save(path("scale_gray16_s16_q.npy"), np.array(qs, dtype=np.float32))
    # a 16-bit gray image whose levels are multiples of 10, and the same times
    # 0.7 (multiples of 7: exact), for the model-level test of the metadata
    # intensity_percentile (tests/cli_engine.sh)
    k = (g16[:24, :24].astype(np.int64) * 6553 // 65535)
    for name, mult in (("gain_base.pgm", 10), ("gain_x07.pgm", 7)):
        with open(path(name), "wb") as f:
            f.write(b"P5\n24 24\n65535\n")
            f.write((k * mult).astype(">u2").tobytes())

    rgba = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(path("rgba_9x7.png"))
    np.save(path("rgba_9x7_u8.npy"), rgba)
    la = rng.integers(0, 256, (4, 5, 2), dtype=np.uint8)
    Image.fromarray(la, "LA").save(path("la_5x4.png"))
    np.save(path("la_5x4_u8.npy"), la)

    small = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    np.save(path("rgb_6x5_u8.npy"), small)
    im = Image.fromarray(small, "RGB")
    im.save(path("rgb_6x5.bmp"))
    im.save(path("rgb_6x5.tga"))
    im.save(path("rgb_6x5.ppm"))

    jy, jx = np.mgrid[0:12, 0:16]
    gray = np.clip(128 + 60 * np.sin(jx / 2.5) * np.cos(jy / 3.0), 0, 255).astype(np.uint8)
    Image.fromarray(gray, "L").save(path("gray_16x12.jpg"), quality=90)
    np.save(path("gray_16x12_jpg_pil.npy"), np.asarray(Image.open(path("gray_16x12.jpg")).convert("L")))


def make_npy():
    np.save(path("np_f4.npy"), (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0))
    np.save(path("np_f4_1d.npy"), np.array([1.5, -2.25, 3.0e-39, 1e30, -0.0], dtype=np.float32))
    np.save(path("np_f4_0d.npy"), np.array(7.25, dtype=np.float32))
    np.save(path("np_f4_empty.npy"), np.zeros((0, 3), dtype=np.float32))
    np.save(path("np_f8.npy"), np.array([0.1, -1e300, 2.5, 1.0 / 3.0], dtype=np.float64))
    np.save(path("np_u1.npy"), np.array([[0, 1], [128, 255], [7, 42]], dtype=np.uint8))
    np.save(path("np_b1.npy"), np.array([True, False, True, True, False]))
    np.save(path("np_i4.npy"), np.array([-5, 0, 7, 2147483647, -2147483648, 12, 13, 14], dtype="<i4").reshape(2, 2, 2))
    np.save(path("np_i8.npy"), np.array([-3, 1 << 40, 9], dtype="<i8"))
    for ver in [(2, 0), (3, 0)]:
        with open(path("np_v%d.npy" % ver[0]), "wb") as f:
            np.lib.format.write_array(f, np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), version=ver)


def f16_bits():
    # 1, -2, smallest subnormal, largest subnormal, largest normal, +inf, -inf, NaN, -0, 0.1
    return np.array([0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x8000, 0x2E66], dtype="<u2")


def bf16_bits():
    # 1, -3.140625, a subnormal, +inf, NaN, -0
    return np.array([0x3F80, 0xC049, 0x0001, 0x7F80, 0x7FC0, 0x8000], dtype="<u2")


def make_safetensors():
    f32 = np.array([[0.5, -1.25, 3.0e-39], [1e30, -0.0, 123.456]], dtype="<f4")
    f16 = f16_bits()
    bf16 = bf16_bits()
    i64 = np.array([1, -2, 1 << 40], dtype="<i8")
    tensors = [("a.f32", "F32", [2, 3], f32.tobytes()),
               ("d.i64", "I64", [3], i64.tobytes()),
               ("b.f16", "F16", [10], f16.tobytes()),
               ("c.bf16", "BF16", [2, 3], bf16.tobytes())]
    header = {"__metadata__": {"format": "pt", "source": "tools/make_io_golden.py"}}
    data = b""
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    blob = struct.pack("<Q", len(hb)) + hb + data
    with open(path("tiny.safetensors"), "wb") as f:
        f.write(blob)
    np.save(path("tiny_f32.npy"), f32)
    np.save(path("tiny_f16_as_f32.npy"), f16.view("<f2").astype(np.float32))
    bf = torch.from_numpy(bf16.view(np.int16).copy()).view(torch.bfloat16).float().numpy()
    np.save(path("tiny_bf16_as_f32.npy"), bf.astype(np.float32).reshape(2, 3))
    return blob


def make_corpus(st_blob):
    os.makedirs(CORPUS, exist_ok=True)
    seeds = {
        "tiny.safetensors": st_blob,
        "empty_header.safetensors": struct.pack("<Q", 8) + b"{}      ",
        "meta_only.safetensors": struct.pack("<Q", 32) + b'{"__metadata__":{"a":"b"}}      ',
        "json_nested": b'{"a":[1,2.5e-3,{"b":null,"c":true,"d":"\\u00e9\\ud83d\\ude00"}],"e":false}',
        "json_string": b'"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t"',
    }
    buf = io.BytesIO()
    np.save(buf, np.arange(6, dtype=np.float32).reshape(2, 3))
    seeds["small.npy"] = buf.getvalue()
    # small images for the image_decode part of the target
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    for name, fmt, kw in [("img.png", "PNG", {}), ("img.bmp", "BMP", {}), ("img.tga", "TGA", {}),
                          ("img_prog.jpg", "JPEG", {"progressive": True, "quality": 80}),
                          ("img_base.jpg", "JPEG", {"quality": 80})]:
        b = io.BytesIO()
        Image.fromarray(rgb, "RGB").save(b, fmt, **kw)
        seeds[name] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257, "I;16").save(b, "PNG")
    seeds["img16.png"] = b.getvalue()
    seeds["img16.pgm"] = b"P5\n7 6\n65535\n" + (rgb[:, :, 0].astype(">u2") * 257).tobytes()
    seeds["img.ppm"] = b"P6\n# c\n7 6\n255\n" + rgb.tobytes()
    for name, blob in seeds.items():
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(blob)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_images()
    make_npy()
    blob = make_safetensors()
    make_corpus(blob)
    total = sum(os.path.getsize(path(n)) for n in os.listdir(OUT))
    print("wrote %d files, %d bytes, into %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    sys.exit(main())
