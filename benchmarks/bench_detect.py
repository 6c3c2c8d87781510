"""Speed and memory of blur detection (not a pass/fail test).

Prints, for each model (compact, kim2018) and device (CPU, and CUDA when present):
  - network seconds per megapixel at the default working resolution (network only),
  - end-to-end seconds (read JPEG -> detect -> write masks) and peak RSS for 12 MP and 50 MP photos,
    each measured in a fresh subprocess (resource.getrusage ru_maxrss).
Uses resources/weights/NAME.pt when it exists, else randomly initialised weights (same speed).

Besides wall-clock seconds it prints CPU seconds (user + system, all threads). On a machine shared
with other work, wall time measures the contention; with --threads 1, CPU seconds are close to
what the same work takes on one idle core, an upper bound for two idle cores.

    .venv/bin/python benchmarks/bench_detect.py
    .venv/bin/python benchmarks/bench_detect.py --models compact --sizes 12 --repeats 3
"""

from __future__ import annotations

import argparse
import functools
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

print = functools.partial(print, flush=True)  # progress shows even when piped to a file

SIZES = {12: (4000, 3000), 50: (8660, 5774)}  # megapixels -> (width, height)


def weights_for(name: str, tmp: Path) -> tuple[Path, str]:
    """A weights file given by path, the bundled weights, or random weights of the same
    architecture saved to tmp."""
    from blurstudio.model import WEIGHTS_DIR, build_model, save_model

    if name.endswith(".pt"):
        if not Path(name).is_file():
            raise SystemExit(f"{name} does not exist")
        return Path(name), "given"
    bundled = WEIGHTS_DIR / f"{name}.pt"
    if bundled.is_file() and bundled.with_suffix(".json").is_file():
        return bundled, "bundled"
    import torch

    torch.manual_seed(0)
    path = tmp / f"{name}.pt"
    save_model(build_model(name), path, {"name": f"{name} (random weights)"})
    return path, "random"


def synthetic_photo(path: Path, width: int, height: int) -> None:
    """A JPEG with photo-like statistics: smooth shapes, a detailed region, mild noise."""
    import cv2
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height // 64 + 2, width // 64 + 2, 3), dtype=np.uint8)
    img = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    detail = rng.integers(0, 256, (height // 4 // 4 + 1, width // 4 // 4 + 1, 3), dtype=np.uint8)
    detail = cv2.resize(detail, (width // 4, height // 4), interpolation=cv2.INTER_NEAREST)
    y0, x0 = height // 3, width // 3
    img[y0 : y0 + detail.shape[0], x0 : x0 + detail.shape[1]] = detail
    img = cv2.add(img, rng.integers(0, 8, img.shape, dtype=np.uint8))
    Image.fromarray(img).save(path, quality=90)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def network_seconds_per_mp(weights: Path, device: str, repeats: int) -> tuple[float, float, tuple[int, int]]:
    """Median network-only wall and CPU time at the default working resolution of a 4:3 photo,
    per megapixel."""
    import torch

    from blurstudio.detect import Detector

    det = Detector(weights, device=device)
    h, w = det.working_size(3000, 4000)
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    det.predict_small(img)  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        if det.device.type == "cuda":
            torch.cuda.synchronize()
        t, c = time.perf_counter(), cpu_seconds()
        det.predict_small(img)
        if det.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
        cpu.append(cpu_seconds() - c)
    mp = h * w / 1e6
    return float(np.median(times)) / mp, float(np.median(cpu)) / mp, (w, h)


def child(args: argparse.Namespace) -> None:
    """One end-to-end run in this process; prints a JSON line."""
    t0 = time.perf_counter()
    from blurstudio.detect import Detector
    from blurstudio.export import export_masks
    from blurstudio.images import read_image

    import torch

    if args.threads:
        import cv2

        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    det = Detector(args.weights, device=args.device)
    t1, c1 = time.perf_counter(), cpu_seconds()
    photo = read_image(args.photo)
    t2 = time.perf_counter()
    bm = det(photo)
    t3 = time.perf_counter()
    export_masks(photo, bm, args.out, "bench")
    t4, c4 = time.perf_counter(), cpu_seconds()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({
        "load": t1 - t0, "read": t2 - t1, "detect": t3 - t2, "write": t4 - t3, "pipeline": t4 - t1,
        "pipeline_cpu": c4 - c1,
        "network": bm.meta["timings"]["network"], "upsample": bm.meta["timings"]["upsample"],
        "peak_rss_gb": peak_kb / 1024 ** 2, "device": det.device_name,
    }))


def end_to_end(weights: Path, device: str, photo: Path, out: Path, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child", "--weights", str(weights), "--device", device,
           "--photo", str(photo), "--out", str(out)] + (["--threads", str(threads)] if threads else [])
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["compact", "kim2018"],
                        help="presets (their bundled weights, or random ones) or .pt weights files")
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda when available")
    parser.add_argument("--sizes", nargs="+", type=int, default=[12, 50], choices=sorted(SIZES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--device", help=argparse.SUPPRESS)
    parser.add_argument("--photo", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        photos = {}
        for mp in args.sizes:
            w, h = SIZES[mp]
            photos[mp] = tmp / f"photo_{mp}mp.jpg"
            synthetic_photo(photos[mp], w, h)
        for name in args.models:
            weights, origin = weights_for(name, tmp)
            for device in devices:
                spm, cpu_spm, (ww, wh) = network_seconds_per_mp(weights, device, args.repeats)
                print(f"\n{name} ({origin} weights) on {device}: network {spm:.3f} s/MP (CPU {cpu_spm:.3f} s/MP) "
                      f"at the default working resolution {ww}x{wh} ({spm * ww * wh / 1e6:.3f} s per photo)")
                for mp, photo in photos.items():
                    r = end_to_end(weights, device, photo, tmp, args.threads)
                    w, h = SIZES[mp]
                    print(f"  {mp} MP ({w}x{h}) end to end: {r['pipeline']:.2f} s "
                          f"(read {r['read']:.2f}, detect {r['detect']:.2f} [network {r['network']:.2f}, "
                          f"upsample {r['upsample']:.2f}], write {r['write']:.2f}; model load {r['load']:.2f}; "
                          f"whole process {r['process']:.2f} s), CPU {r['pipeline_cpu']:.2f} s, peak RSS {r['peak_rss_gb']:.2f} GB")


if __name__ == "__main__":
    main()
