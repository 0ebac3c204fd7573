#!/usr/bin/python3
"""bench_torch.py - time PyTorch (and optionally salient) on the same model and sizes.

Usage:
  /usr/bin/python3 tools/bench_torch.py --arch resnet50 --size 224 --batch 16 --threads 2
        [--repeat 10] [--in-channels 3] [--classes 1000] [--class-index 0]
        [--salient ./salient --model FILE.safetensors] [--make-model OUT.safetensors] [--json]

What is measured, for PyTorch (eval mode, random weights; torch.set_num_threads):
  forward_ms           median over --repeat runs of model(x) under torch.no_grad()
  forward_backward_ms  median of model(x) + torch.autograd.grad(sum_n logits[n, k], x),
                       x.requires_grad, parameters frozen (requires_grad False): the
                       gradient to the input only, as saliency methods need it
  peak_rss_mb          ru_maxrss of a fresh process per configuration (os.wait4 on the
                       child), so each number is honest; the RSS right after
                       `import torch` is shown too, for scale
each after 2 warm-up runs. With --salient it also runs
  SALIENT bench -m MODEL --size S --batch N --threads T --repeat R
(which prints one JSON object with forward_ms, forward_backward_ms and peak_rss_mb;
its RSS is also measured from outside with os.wait4) and prints both and the
ratio salient / torch. --make-model OUT writes a randomly initialised
torchvision model of --arch (via tools/convert.py's save_safetensors); with
--salient and no --model, that file is used. The machine may be shared:
run twice and look at the spread before drawing conclusions.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))


def rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def build_model(arch, in_channels, classes):
    import torch.nn as nn
    import torchvision
    if not hasattr(torchvision.models, arch) or not arch.startswith(("resnet", "densenet")):
        raise SystemExit(f"unknown --arch '{arch}'; expected resnet18..152 or densenet121..201")
    m = getattr(torchvision.models, arch)(weights=None, num_classes=classes)
    if in_channels != 3:
        if arch.startswith("resnet"):
            m.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        else:
            c0 = m.features.conv0
            m.features.conv0 = nn.Conv2d(in_channels, c0.out_channels, 7, 2, 3, bias=False)
    return m.eval()


# ---- one configuration, in its own process ----

def child(args):
    import torch
    base = rss_mb()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.arch, args.in_channels, args.classes)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.randn(args.batch, args.in_channels, args.size, args.size)
    k = args.class_index

    if args.child == "forward":
        def step():
            with torch.no_grad():
                model(x)
    else:
        xg = x.clone().requires_grad_(True)

        def step():
            out = model(xg)
            (g,) = torch.autograd.grad(out[:, k].sum(), xg)
            return g
    for _ in range(2):
        step()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"mode": args.child, "ms_median": statistics.median(times), "ms": times,
                      "rss_after_import_mb": base, "peak_rss_mb_self": rss_mb(),
                      "torch_threads": torch.get_num_threads(), "torch": torch.__version__}))


# ---- running a measured subprocess ----

def run_measured(cmd, env, timeout):
    """Runs cmd; returns (rc, stdout, stderr, peak RSS MB from os.wait4, seconds).
    rc is None if it could not start, -9 if killed on timeout."""
    t0 = time.time()
    err = tempfile.TemporaryFile()
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
    except OSError as e:
        return None, "", str(e), 0.0, 0.0
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    out = p.stdout.read().decode("utf-8", "replace")
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    err.seek(0)
    return p.returncode, out, err.read().decode("utf-8", "replace"), ru.ru_maxrss / 1024.0, time.time() - t0


def last_json(text):
    """The whole output as one JSON object, else its last line that is one."""
    try:
        j = json.loads(text)
        if isinstance(j, dict):
            return j
    except ValueError:
        pass
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def bench_torch(args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    res = {}
    for mode in ("forward", "forward_backward"):
        cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--arch", args.arch,
               "--size", str(args.size), "--batch", str(args.batch), "--threads", str(args.threads),
               "--repeat", str(args.repeat), "--in-channels", str(args.in_channels),
               "--classes", str(args.classes), "--class-index", str(args.class_index)]
        rc, out, err, rss, secs = run_measured(cmd, env, args.timeout)
        j = last_json(out)
        if rc != 0 or j is None:
            raise SystemExit(f"torch {mode} run failed (exit {rc}):\n{err[-2000:]}")
        j["peak_rss_mb"] = rss
        j["wall_s"] = secs
        res[mode] = j
    return {"forward_ms": res["forward"]["ms_median"],
            "forward_backward_ms": res["forward_backward"]["ms_median"],
            "peak_rss_mb": max(res["forward"]["peak_rss_mb"], res["forward_backward"]["peak_rss_mb"]),
            "peak_rss_forward_mb": res["forward"]["peak_rss_mb"],
            "peak_rss_forward_backward_mb": res["forward_backward"]["peak_rss_mb"],
            "rss_after_import_mb": res["forward"]["rss_after_import_mb"],
            "forward_ms_all": res["forward"]["ms"], "forward_backward_ms_all": res["forward_backward"]["ms"],
            "torch": res["forward"]["torch"], "torch_threads": res["forward"]["torch_threads"]}


def bench_salient(args, model):
    """Returns (result dict or None, message)."""
    exe = args.salient
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        return None, f"salient binary '{exe}' not found or not executable (build it with make)"
    if not model or not os.path.isfile(model):
        return None, f"model file '{model}' not found (give --model, or --make-model OUT)"
    rc, out, err, _, _ = run_measured([exe, "info", "-m", model, "--json"], None, 120)
    info = last_json(out) if rc == 0 else None
    if info and info.get("arch") != args.arch:
        return None, f"{model} holds {info.get('arch')}, but --arch is {args.arch}"
    cmd = [exe, "bench", "-m", model, "--size", str(args.size), "--batch", str(args.batch),
           "--threads", str(args.threads), "--repeat", str(args.repeat)]
    rc, out, err, rss, secs = run_measured(cmd, None, args.timeout)
    j = last_json(out)
    if rc != 0 or j is None or not all(k in j for k in ("forward_ms", "forward_backward_ms")):
        why = "timed out" if rc == -9 else f"exit {rc}"
        return None, f"'{' '.join(cmd)}' failed ({why}): {(err or out).strip()[-800:]}"
    j["peak_rss_mb_reported"] = j.get("peak_rss_mb")
    j["peak_rss_mb"] = rss  # measured from outside, like torch's
    j["wall_s"] = secs
    return j, ""


def make_model(args):
    sys.path.insert(0, TOOLS)
    import torch
    from convert import save_safetensors
    torch.manual_seed(0)
    m = build_model(args.arch, args.in_channels, args.classes)
    meta = {"arch": args.arch, "input_size": str(args.size)}
    n = save_safetensors(m.state_dict(), args.make_model, "f32", meta)
    print(f"wrote {args.make_model}: {args.arch} ({args.in_channels} channels, {args.classes} classes, "
          f"random init), {n / 1e6:.1f} MB", file=sys.stderr)


def table(args, t, s):
    print(f"{args.arch}, {args.batch} x {args.in_channels} x {args.size} x {args.size}, "
          f"{args.threads} thread(s), median of {args.repeat} after 2 warm-ups (torch {t['torch']})")
    rows = [("forward (ms)", "forward_ms"), ("forward+backward to input (ms)", "forward_backward_ms"),
            ("peak RSS (MB)", "peak_rss_mb")]
    hdr = f"{'':32s}{'torch':>12s}"
    if s:
        hdr += f"{'salient':>12s}{'salient/torch':>15s}"
    print(hdr)
    for label, key in rows:
        line = f"{label:32s}{t[key]:12.1f}"
        if s:
            line += f"{s[key]:12.1f}{s[key] / t[key]:15.2f}"
        print(line)
    print(f"(torch RSS: forward {t['peak_rss_forward_mb']:.0f} MB, forward+backward "
          f"{t['peak_rss_forward_backward_mb']:.0f} MB, of which {t['rss_after_import_mb']:.0f} MB "
          f"is `import torch` alone)")
    if s and s.get("peak_rss_mb_reported") is not None:
        print(f"(salient reports its own peak RSS as {s['peak_rss_mb_reported']:.0f} MB)")


def main():
    ap = argparse.ArgumentParser(description="time PyTorch (and salient) forward and input-gradient passes")
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--class-index", type=int, default=0, help="the logit k whose sum is differentiated")
    ap.add_argument("--salient", help="path of the salient binary")
    ap.add_argument("--model", help="safetensors file of the same architecture, for salient")
    ap.add_argument("--make-model", metavar="OUT", help="write a random torchvision model of --arch")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--child", choices=["forward", "forward_backward", "make-model"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    for name in ("size", "batch", "threads", "repeat", "in_channels", "classes"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if not 0 <= args.class_index < args.classes:
        ap.error(f"--class-index must be in [0, {args.classes})")
    if args.child == "make-model":
        return make_model(args)
    if args.child:
        return child(args)
    if args.make_model:
        # in a child process: Linux carries a parent's peak RSS over into the
        # ru_maxrss of the children it forks, so this process must stay small
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "make-model"] + sys.argv[1:]
        if subprocess.call(cmd) != 0:
            raise SystemExit("--make-model failed")
        if not args.salient:
            return
    model = args.model or args.make_model
    t = bench_torch(args)
    s, msg = bench_salient(args, model) if args.salient else (None, "")
    if msg:
        print(f"salient: skipped: {msg}", file=sys.stderr)
    if args.json:
        print(json.dumps({"arch": args.arch, "size": args.size, "batch": args.batch,
                          "threads": args.threads, "repeat": args.repeat, "torch": t, "salient": s,
                          "salient_error": msg or None}))
    else:
        table(args, t, s)


if __name__ == "__main__":
    main()
