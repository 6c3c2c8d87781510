"""Speed and memory of the matting selection (blurstudio.edit.selection) at 1, 12 and 24 MP.

    .venv/bin/python benchmarks/bench_select.py [--sizes 1 12 24] [--cold] [--cutout]

Each size runs in its own subprocess, so its peak RSS (ru_maxrss) is its own. The inputs (a synthetic
sharp subject over a defocused background, and a blur map imitating the network's: the subject mask
dilated and blurred) are made by the parent and loaded by the child from .npy files, so the peak
counts the photo and the full-resolution blur map (3 x float32 per pixel, as the Detector returns
it) plus the selection, not the making of the inputs.

pymatting compiles its numba kernels when it is first imported on a machine and caches them on disk.
`import pymatting` is timed on its own; with --cold the child gets an empty NUMBA_CACHE_DIR, so that
import includes the compilation (the cold start a user sees once after installing).
Timings: `first` is the first select() call in the process, `warm` the best of the next two.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_inputs(megapixels: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(photo (H, W, 3) uint8, probs (3, H, W) float32) at 4:3, made at low resolution and upscaled so
    that making them stays cheap; the subject gets full-resolution sharp texture."""
    import cv2

    H = int(round(np.sqrt(megapixels * 1e6 * 3 / 4)))
    W = int(round(H * 4 / 3))
    rng = np.random.default_rng(seed)
    mask = np.zeros((H, W), np.uint8)
    cv2.ellipse(mask, (W // 2, H // 2), (W // 5, H // 3), 15, 0, 360, 255, -1, lineType=cv2.LINE_AA)
    cv2.rectangle(mask, (W // 8, H * 2 // 3), (W * 7 // 8, H * 2 // 3 + max(2, H // 150)), 255, -1)
    bg_small = 0.5 + 0.25 * (rng.random((H // 64 + 2, W // 64 + 2, 3)) - 0.5)
    bg = cv2.resize((bg_small * np.array([0.4, 0.8, 1.1]) * 255).astype(np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    texture = rng.integers(128, 256, size=(H, W), dtype=np.uint8)  # sharp, pixel-level detail
    photo = bg
    for c, base in enumerate((0.9, 0.6, 0.3)):
        a = mask.astype(np.float32) * (1.0 / 255.0)
        photo[..., c] = (a * (texture * base) + (1.0 - a) * bg[..., c]).astype(np.uint8)
    del texture
    # The "network": the mask at a working scale (long side 640), dilated and blurred, upscaled.
    small = cv2.resize(mask, (640, 480), interpolation=cv2.INTER_AREA)
    small = cv2.dilate(small, np.ones((5, 5), np.uint8))
    p = cv2.GaussianBlur(small.astype(np.float32) / 255.0, (0, 0), 3)
    probs = np.empty((3, H, W), np.float32)
    probs[0] = cv2.resize(p, (W, H), interpolation=cv2.INTER_LINEAR)
    probs[1] = 0.0
    np.subtract(1.0, probs[0], out=probs[2])
    return photo, probs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def child(folder: Path, cutout: bool) -> None:
    photo = np.load(folder / "photo.npy")
    probs = np.load(folder / "probs.npy")
    rss_inputs = peak_rss_mb()
    t, c = time.perf_counter(), time.process_time()
    import pymatting  # noqa: F401 - timed: compiles the numba kernels when the cache is empty

    t_import, c_import = time.perf_counter() - t, time.process_time() - c
    from blurstudio.blurmap import BlurMap
    from blurstudio.edit.selection import estimate_foreground, select

    blurmap = BlurMap(probs)
    runs, cpu = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        sel = select(photo, blurmap, "sharp")
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    result = {
        "size": [int(photo.shape[1]), int(photo.shape[0])],
        "import_pymatting_s": round(t_import, 2),
        "import_cpu_s": round(c_import, 2),
        "first_s": round(runs[0], 2),
        "warm_s": round(min(runs[1:]), 2),
        "warm_cpu_s": round(min(cpu[1:]), 2),  # CPU seconds of all threads: immune to other processes' load
        "steps_s": {k: round(v, 2) for k, v in sel.timings.items()},
        "working_scale": round(sel.scale, 3),
        "selected": round(sel.fraction, 3),
        "message": sel.message,
        "rss_inputs_mb": round(rss_inputs),
    }
    if cutout:
        t, c = time.perf_counter(), time.process_time()
        estimate_foreground(photo, sel.alpha)
        result["foreground_s"] = round(time.perf_counter() - t, 2)
        result["foreground_cpu_s"] = round(time.process_time() - c, 2)
    result["peak_rss_mb"] = round(peak_rss_mb())
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 12, 24], help="megapixels (default: 1 12 24)")
    parser.add_argument("--cold", action="store_true", help="empty numba cache in the child: time the JIT compile")
    parser.add_argument("--cutout", action="store_true", help="also time the foreground estimation for a cut-out")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.cutout)
        return

    print(f"bench_select: {os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f} (other processes slow the wall times)")
    for mp in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            photo, probs = make_inputs(mp)
            np.save(Path(tmp) / "photo.npy", photo)
            np.save(Path(tmp) / "probs.npy", probs)
            del photo, probs
            env = dict(os.environ)
            if args.cold:
                env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba_cache")
            cmd = [sys.executable, __file__, "--child", tmp] + (["--cutout"] if args.cutout else [])
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{mp:>5} MP: failed\n{out.stderr}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            fg = ""
            if "foreground_s" in r:
                fg = f", cut-out foreground {r['foreground_s']:.2f} s (CPU {r['foreground_cpu_s']:.2f} s)"
            print(
                f"{mp:>5} MP {r['size'][0]}x{r['size'][1]}: select warm {r['warm_s']:.2f} s (CPU {r['warm_cpu_s']:.2f} s), first call {r['first_s']:.2f} s, "
                f"import pymatting {r['import_pymatting_s']:.2f} s (CPU {r['import_cpu_s']:.2f} s, {'cold: empty numba cache' if args.cold else 'numba cache warm'})"
                f"{fg}; peak RSS {r['peak_rss_mb']} MB (inputs alone {r['rss_inputs_mb']} MB); steps {r['steps_s']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
