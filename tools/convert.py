#!/usr/bin/python3
"""convert.py - PyTorch checkpoint -> safetensors file that salient loads.

Usage:
  /usr/bin/python3 tools/convert.py IN.pth OUT.safetensors [--dtype f32|f16|bf16]
        [--meta key=value ...] [--head softmax|sigmoid] [--check] [--allow-pickle]
  e.g. --meta arch=resnet18 input_size=224 mean=0.485,0.456,0.406 \\
              std=0.229,0.224,0.225 labels=glioma,meningioma,notumor,pituitary

IN.pth may hold a state_dict, a dict with a 'state_dict' or 'model' entry
(itself a state_dict or a module), or a whole nn.Module. It is read with
torch.load(weights_only=True); a whole pickled module needs --allow-pickle
(unpickling runs code from the file: only for files you trust). A leading
"module." (DataParallel) is stripped from every name.

Output, written by hand (no safetensors package), as the reference writer does:
  8 bytes      little-endian u64 N, the header's length
  N bytes      JSON: {"__metadata__": {str: str}, name: {"dtype", "shape",
               "data_offsets": [begin, end]}, ...}, tensors in sorted name order,
               padded with spaces to a multiple of 8
  data         each tensor's little-endian bytes, C order, contiguous in that order
Floating tensors become --dtype (F32, F16 or BF16; rounding to nearest, ties
to even); integer buffers keep their type (num_batches_tracked: I64).

--check reads the written file back with struct/numpy only and compares every
tensor bit for bit with the source converted to the target dtype.

Importable: save_safetensors(state_dict, path, dtype="f32", meta=None),
            read_safetensors(path) -> (dict name -> numpy array, metadata).
"""
import argparse
import json
import struct
import sys
from collections import OrderedDict

import numpy as np

FLOAT_DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
# numpy little-endian dtype of each safetensors dtype (BF16 handled as raw u16)
ST_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
         "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def _torch():
    import torch
    return torch


def _int_st_dtype(t):
    torch = _torch()
    table = {torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
             torch.uint8: "U8", torch.bool: "BOOL"}
    if t.dtype not in table:
        raise ValueError(f"unsupported tensor dtype {t.dtype}")
    return table[t.dtype]


def tensor_bytes(t, dtype="f32"):
    """(safetensors dtype, shape, little-endian bytes) of a torch tensor,
    floating tensors converted to dtype (f32/f16/bf16)."""
    torch = _torch()
    t = t.detach().cpu().contiguous()
    if t.is_floating_point():
        st = FLOAT_DTYPES[dtype]
        if st == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2")
        else:
            raw = t.to(torch.float32 if st == "F32" else torch.float16).numpy().astype(ST_NP[st])
    else:
        st = _int_st_dtype(t)
        raw = t.numpy().astype(ST_NP[st])
    return st, list(t.shape), raw.tobytes()


def strip_module(state_dict):
    out = OrderedDict()
    for k, v in state_dict.items():
        nk = k[len("module."):] if k.startswith("module.") else k
        if nk in out:
            raise ValueError(f"two tensors named '{nk}' after stripping 'module.'")
        out[nk] = v
    return out


def save_safetensors(state_dict, path, dtype="f32", meta=None):
    """Writes a {name: tensor} mapping as safetensors; meta is a {str: str}
    dict stored as __metadata__. Returns the number of bytes written."""
    torch = _torch()
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(FLOAT_DTYPES)}, not '{dtype}'")
    header = OrderedDict()
    if meta:
        header["__metadata__"] = {str(k): str(v) for k, v in meta.items()}
    blobs, offset = [], 0
    for name in sorted(state_dict):
        if name == "__metadata__":
            raise ValueError("a tensor cannot be named '__metadata__'")
        t = state_dict[name]
        st, shape, data = tensor_bytes(t, dtype)
        finite = t.detach()[torch.isfinite(t.detach())] if t.is_floating_point() else None
        if st == "F16" and finite is not None and finite.numel() and float(finite.abs().max()) >= 65520:
            print(f"convert: warning: '{name}' has values beyond float16's range (max 65504); "
                  "they become inf", file=sys.stderr)
        header[name] = {"dtype": st, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return 8 + len(text) + offset


def read_safetensors(path):
    """Pure struct/numpy reader: ({name: numpy array}, metadata dict). BF16
    tensors come back as float32 (their exact values). Raises ValueError on
    any inconsistency."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: {len(buf)} bytes, expected at least 8")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file ({len(buf)} bytes)")
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data = memoryview(buf)[8 + n:]
    meta = header.pop("__metadata__", {})
    out, end = {}, 0
    for name, h in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = h["data_offsets"]
        if b != end or e > len(data):
            raise ValueError(f"{path}: tensor '{name}' at [{b},{e}), expected to start at {end}")
        npd = np.dtype(ST_NP[h["dtype"]])
        count = int(np.prod(h["shape"], dtype=np.int64))
        if e - b != count * npd.itemsize:
            raise ValueError(f"{path}: tensor '{name}' has {e - b} bytes, shape {h['shape']} "
                             f"of {h['dtype']} needs {count * npd.itemsize}")
        a = np.frombuffer(data[b:e], dtype=npd).reshape(h["shape"])
        if h["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = a
        end = e
    if end != len(data):
        raise ValueError(f"{path}: {len(data) - end} bytes after the last tensor")
    return out, meta


def load_state_dict(path, allow_pickle=False):
    """A {name: tensor} mapping from a .pth: a state_dict, {'state_dict'|'model': ...}
    or a whole module."""
    torch = _torch()
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a whole module, or objects weights_only refuses
        if not allow_pickle:
            raise SystemExit(f"{path}: not loadable as plain tensors ({str(e).splitlines()[0]}).\n"
                             "If it is a whole pickled model you trust, pass --allow-pickle.")
        obj = torch.load(path, map_location="cpu", weights_only=False)
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and not torch.is_tensor(obj[key]):
            obj = obj[key]
            break
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: expected a state_dict, found {type(obj).__name__}")
    sd = OrderedDict()
    for k, v in obj.items():
        if torch.is_tensor(v):
            sd[k] = v
        else:
            print(f"convert: skipping '{k}' ({type(v).__name__}, not a tensor)", file=sys.stderr)
    if not sd:
        raise SystemExit(f"{path}: no tensors found")
    return strip_module(sd)


def _expected(t, dtype):
    """The source tensor as the file should hold it, converted by numpy alone
    (independent of tensor_bytes): float32 -> float16 by numpy's cast, -> bfloat16
    by rounding the float32 bit pattern to its top 16 bits, nearest, ties to even."""
    torch = _torch()
    if not t.is_floating_point():
        return t.detach().cpu().numpy()
    x = t.detach().cpu().to(torch.float32).numpy()
    if dtype == "f16":
        with np.errstate(over="ignore"):
            return x.astype(np.float16)
    if dtype == "bf16":
        b = x.view(np.uint32).astype(np.uint64)
        r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint32)
        r = np.where(np.isnan(x), (b >> 16).astype(np.uint32) | 0x40, r)  # keep NaN a NaN
        return (r << 16).view(np.float32)
    return x


def _same_bits(a, want):
    """Bit for bit, except that any NaN matches any NaN (torch writes NaN as
    0xFFFF in bfloat16, numpy rounding keeps the payload)."""
    if a.shape != want.shape or a.dtype.kind != want.dtype.kind or a.itemsize != want.itemsize:
        return False
    if a.dtype.kind != "f":
        return a.tobytes() == want.tobytes()
    u = {2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize]
    same = (a.view(u) == want.astype(a.dtype).view(u)) | (np.isnan(a) & np.isnan(want))
    return bool(same.all())


def check(state_dict, path, dtype, meta):
    """Reads path back and compares with state_dict; returns a list of problems."""
    got, gmeta = read_safetensors(path)
    problems = []
    if set(got) != set(state_dict):
        problems.append(f"names differ: missing {sorted(set(state_dict) - set(got))[:5]}, "
                        f"extra {sorted(set(got) - set(state_dict))[:5]}")
    if gmeta != {k: str(v) for k, v in (meta or {}).items()}:
        problems.append(f"metadata differs: {gmeta}")
    worst = 0.0
    for name in sorted(set(got) & set(state_dict)):
        want = _expected(state_dict[name], dtype)
        a = got[name]
        if not _same_bits(a, want):
            problems.append(f"tensor '{name}' differs from the source")
        src = state_dict[name].detach().cpu().double().numpy()
        ok = np.isfinite(src) & np.isfinite(a) if a.dtype.kind == "f" else None
        if ok is not None and ok.any():
            m = np.abs(src[ok]).max()
            d = np.abs(a[ok].astype(np.float64) - src[ok]).max()
            worst = max(worst, d / m if m > 0 else d)
    return problems, worst


def parse_meta(items):
    meta = OrderedDict()
    for it in items or []:
        if "=" not in it:
            raise SystemExit(f"--meta expects key=value, found '{it}'")
        k, v = it.split("=", 1)
        meta[k] = v
    return meta


def main():
    ap = argparse.ArgumentParser(description="PyTorch checkpoint -> safetensors for salient")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--dtype", choices=sorted(FLOAT_DTYPES), default="f32")
    ap.add_argument("--meta", nargs="*", default=[], metavar="KEY=VALUE")
    ap.add_argument("--head", choices=["softmax", "sigmoid"], default="softmax",
                    help="how the outputs become probabilities: softmax (one class) or sigmoid "
                         "(independent outputs: multi-label, or a single logit); written as metadata 'head'")
    ap.add_argument("--check", action="store_true", help="read the file back and compare")
    ap.add_argument("--allow-pickle", action="store_true",
                    help="allow full unpickling (whole nn.Module files; trusted files only)")
    args = ap.parse_args()
    meta = parse_meta(args.meta)
    meta.setdefault("head", args.head)
    sd = load_state_dict(args.input, args.allow_pickle)
    n = save_safetensors(sd, args.output, args.dtype, meta)
    print(f"wrote {args.output}: {len(sd)} tensors, {n} bytes, floating tensors as "
          f"{FLOAT_DTYPES[args.dtype]}", file=sys.stderr)
    if args.check:
        problems, worst = check(sd, args.output, args.dtype, meta)
        for p in problems:
            print(f"check: {p}", file=sys.stderr)
        if problems:
            sys.exit(1)
        print(f"check: OK, every tensor read back bit for bit; max rel change from the source "
              f"by the {args.dtype} conversion {worst:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
