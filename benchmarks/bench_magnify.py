"""Speed and memory of blur magnification (not a pass/fail test).

For a synthetic photo (sharp textured subject over a defocused background with highlights, and a
matching soft blur map) of each size, each in a fresh subprocess (peak RSS = resource ru_maxrss):
  - prepare: Magnifier(photo, blurmap): blur-radius estimate + subject matte (once per photo),
  - preview: render at about 1 MP (what the GUI shows while a slider moves), first and repeated,
  - full:    render at full resolution (Apply / Export / the CLI),
with wall time and the process CPU time (the machine may be shared: CPU time / wall time shows how
much of the 2 cores the process actually got). The blur map itself is an input (float32, 12 bytes a
pixel) and counts in the RSS, as does the photo.

    .venv/bin/python benchmarks/bench_magnify.py
    .venv/bin/python benchmarks/bench_magnify.py --sizes 1 12 --amounts 2 4 --repeats 3 --json
    .venv/bin/python benchmarks/bench_magnify.py --threads 1    # CPU time = time on one idle core
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SIZES = {1: (1152, 864), 12: (4000, 3000), 24: (6000, 4000)}  # megapixels -> (width, height)
BACKGROUND_RADIUS = 0.0025  # existing defocus radius as a fraction of the width (10 px at 4000)


def synthetic_scene(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(photo uint8 (H, W, 3), blur-map probabilities float16 (3, H, W))."""
    import cv2

    from blurstudio.edit.magnify import aperture_kernel

    rng = np.random.default_rng(0)
    # Background: shapes and highlights, defocused at a quarter of the size (cheap), then enlarged.
    qw, qh = width // 4, height // 4
    bg = cv2.resize(rng.integers(0, 256, (qh // 24 + 2, qw // 24 + 2, 3), dtype=np.uint8), (qw, qh),
                    interpolation=cv2.INTER_NEAREST)
    for _ in range(60):
        cv2.circle(bg, (int(rng.integers(0, qw)), int(rng.integers(0, qh))), 1, (255, 250, 235), -1)
    r = BACKGROUND_RADIUS * width / 4
    bg = cv2.filter2D(bg, -1, aperture_kernel(r), borderType=cv2.BORDER_REFLECT)
    photo = cv2.resize(bg, (width, height), interpolation=cv2.INTER_CUBIC)
    # Subject: a sharp textured ellipse in the middle.
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (width // 5, height // 3), 0, 0, 360, 1, -1)
    detail = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    detail = cv2.resize(detail, (width, height), interpolation=cv2.INTER_NEAREST)
    photo[mask > 0] = detail[mask > 0]
    photo = cv2.add(photo, rng.integers(0, 4, photo.shape, dtype=np.uint8))
    # Blur map: soft at the boundary, as a network's upsampled output is.
    p_sharp = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), width / 800)
    probs = np.stack([p_sharp, np.zeros_like(p_sharp), 1.0 - p_sharp]).astype(np.float16)
    return photo, probs


def child(args: argparse.Namespace) -> None:
    """Measure one size in this process; print one JSON line."""
    import cv2

    cv2.setNumThreads(args.threads)
    from blurstudio.blurmap import BlurMap
    from blurstudio.edit.defocus import _calibration
    from blurstudio.edit.magnify import PREVIEW_PIXELS, Magnifier, MagnifySettings

    photo = np.load(args.photo)
    blurmap = BlurMap(np.load(args.probs))
    _calibration()  # one-time table (cached for the process), not part of a photo's cost
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def timed(fn):
        t, c = time.perf_counter(), time.process_time()
        value = fn()
        return value, time.perf_counter() - t, time.process_time() - c

    magnifier, prep_wall, prep_cpu = timed(lambda: Magnifier(photo, blurmap))
    result = {"mp": photo.shape[0] * photo.shape[1] / 1e6, "prepare": [prep_wall, prep_cpu],
              "rss_inputs_mb": rss_inputs}
    if args.mode == "preview":
        runs = []
        for i in range(args.repeats + 1):
            amount = args.amounts[i % len(args.amounts)]
            _, wall, cpu = timed(lambda: magnifier.render(MagnifySettings(amount, "circle", 1.0), max_pixels=PREVIEW_PIXELS))
            runs.append([wall, cpu])
        result["preview_first"] = runs[0]
        result["preview"] = runs[1:]
    else:
        runs = []
        for amount in args.amounts:
            for _ in range(args.repeats):
                _, wall, cpu = timed(lambda: magnifier.render(MagnifySettings(amount, "hexagon", 2.0)))
                runs.append([amount, wall, cpu])
        result["full"] = runs
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(photo: Path, probs: Path, mode: str, amounts: list[float], repeats: int, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--photo", str(photo), "--probs", str(probs),
           "--repeats", str(repeats), "--threads", str(threads), "--amounts", *map(str, amounts)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[12], choices=sorted(SIZES), help="megapixels")
    parser.add_argument("--amounts", type=float, nargs="+", default=[2.0, 4.0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2,
                        help="OpenCV threads (default 2; with 1, CPU time = time on one idle core)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=("preview", "full"), help=argparse.SUPPRESS)
    parser.add_argument("--photo", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        child(args)
        return 0

    import os

    print(f"blur magnification benchmark: {os.cpu_count()} CPU cores visible, {args.threads} OpenCV threads, "
          f"load average {os.getloadavg()[0]:.1f} (a shared machine inflates wall times; CPU time is also shown)",
          flush=True)
    report = []
    with tempfile.TemporaryDirectory() as tmp:
        for mp in args.sizes:
            width, height = SIZES[mp]
            photo, probs = synthetic_scene(width, height)
            photo_path, probs_path = Path(tmp) / f"photo{mp}.npy", Path(tmp) / f"probs{mp}.npy"
            np.save(photo_path, photo)
            np.save(probs_path, probs)
            del photo, probs
            preview = run_child(photo_path, probs_path, "preview", args.amounts, max(args.repeats, 3), args.threads)
            full = run_child(photo_path, probs_path, "full", args.amounts, args.repeats, args.threads)
            report.append({"size": f"{width}x{height}", "preview": preview, "full": full})
            if not args.json:
                pw = [r[0] for r in preview["preview"]]
                print(f"\n{width}x{height} ({preview['mp']:.1f} MP)")
                print(f"  prepare (estimate + matte): {full['prepare'][0]:.2f} s wall, {full['prepare'][1]:.2f} s CPU")
                print(f"  preview ~1 MP: first {preview['preview_first'][0]:.3f} s, then median {np.median(pw):.3f} s "
                      f"(min {min(pw):.3f}, CPU {np.median([r[1] for r in preview['preview']]):.3f} s); "
                      f"peak RSS {preview['peak_rss_mb']:.0f} MB")
                for amount, wall, cpu in full["full"]:
                    print(f"  full render, amount {amount:g}, hexagon: {wall:.2f} s wall, {cpu:.2f} s CPU")
                print(f"  full: peak RSS {full['peak_rss_mb']:.0f} MB (inputs photo + blur map: "
                      f"{full['rss_inputs_mb']:.0f} MB)", flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
