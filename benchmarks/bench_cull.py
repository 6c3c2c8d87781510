"""Culling verdicts: accuracy on labelled photos against a variance-of-Laplacian baseline, and speed.

The labelled set is made from held-out photos only (the trainer's validation split of
../shared/data, less the photos listed as blurry of their own): for each source photo, `--variants`
frames of each verdict:
  sharp           the photo itself (a random crop, sensor noise, JPEG)
  camera shake    the whole frame blurred along a random camera-shake path (6-24 px at ~480 px wide,
                  i.e. 75-300 px on a 24 MP frame)
  missed focus    the whole frame defocused (disk or Gaussian lens blur, radius 2-8 px)
  shallow focus   the salient object sharp (its mask), the rest defocused (radius 3-9 px)
  subject motion  the salient object moved (linear blur 10-35 px, premultiplied), the background sharp
Source photos alternate between a tuning half (the thresholds are chosen there, `--tune`) and a
test half (reported). Real photos: the validation split of the real CUHK defocus photos, whose truth
is `shallow focus` (a sharp subject, the rest defocused), never tuned on.

The baseline is the classic culling script: variance of the Laplacian of the grey photo (at the same
working size the detector sees), "sharp" above a threshold tuned on the same tuning half.

    python benchmarks/bench_cull.py --make-set /tmp/cullset --variants 2 --object-variants 4
    python benchmarks/bench_cull.py --data /tmp/cullset --tune        # prints the best thresholds
    python benchmarks/bench_cull.py --data /tmp/cullset               # accuracy, confusion matrices
    python benchmarks/bench_cull.py --throughput /tmp/cull24 --count 36   # 24 MP JPEGs: photos/s
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

from blurstudio.cull import VERDICTS, CullConfig, Measures, decide, measure

KEEP = ("sharp", "shallow focus")
REJECT = ("missed focus", "camera shake")


# ------------------------------------------------------------------------------------------------
# the labelled set
# ------------------------------------------------------------------------------------------------

def make_set(out: Path, variants: int, object_variants: int, seed: int = 0) -> int:
    from trainer.synth.generate import convolve, to_linear, to_srgb
    from trainer.synth.kernels import (
        disk_kernel,
        gaussian_kernel,
        linear_motion_kernel,
        shake_kernel,
    )
    from trainer.synth.sources import load_sources

    src = load_sources([DATA / "bsds500_test"], [DATA / "bsds_sod_train"], split="val",
                       exclude=[ROOT / "trainer/configs/blurry_photos.txt"])
    (out / "image").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []

    def log_u(lo, hi):
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    def lens(r):
        return disk_kernel(r) if rng.random() < 0.6 else gaussian_kernel(r / 2)

    def finish(lin_or_rgb, linear=True):
        rgb = to_srgb(lin_or_rgb) if linear else lin_or_rgb
        noise = rng.normal(0, rng.uniform(0, 3), rgb.shape)
        return np.clip(rgb + noise, 0, 255).astype(np.uint8)

    def save(rgb, truth, source):
        name = f"{len(rows):04d}_{truth.replace(' ', '_')}"
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(out / "image" / f"{name}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(80, 96))])
        rows.append({"name": name, "truth": truth, "source": source, "half": "tune" if source % 2 == 0 else "test"})

    for i, photo in enumerate(src.photos):
        lin = to_linear(photo)
        for _ in range(variants):
            h, w = photo.shape[:2]
            ch, cw = int(h * rng.uniform(0.85, 1)), int(w * rng.uniform(0.85, 1))
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            save(finish(photo[y:y + ch, x:x + cw], linear=False), "sharp", i)
            save(finish(convolve(lin, shake_kernel(log_u(6, 24), rng))), "camera shake", i)
            save(finish(convolve(lin, lens(log_u(2, 8)))), "missed focus", i)
    offset = len(src.photos)
    for j, (photo, mask) in enumerate(src.objects):
        lin = to_linear(photo)
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 0.7)[..., None]
        for _ in range(object_variants):
            back = convolve(lin, lens(log_u(3, 9)))
            save(finish(lin * alpha + back * (1 - alpha)), "shallow focus", offset + j)
            k = linear_motion_kernel(log_u(10, 35), rng.uniform(0, 180))
            moved, cover = convolve(lin * alpha, k), convolve(alpha, k)[..., None]
            save(finish(moved + lin * (1 - cover)), "subject motion", offset + j)
    with open(out / "labels.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=["name", "truth", "source", "half"])
        wr.writeheader()
        wr.writerows(rows)
    return len(rows)


def real_rows() -> list[dict]:
    from trainer.synth.sources import split_of

    photos = sorted((DATA / "cuhk_defocus_train" / "image").glob("*.jpg"))
    val = [p for p in photos if split_of(p) == "val"]
    # Alternate photos tune the thresholds with the composites ("real-tune") or are reported ("real").
    return [{"name": p.stem, "path": str(p), "truth": "shallow focus", "half": "real-tune" if i % 2 else "real"}
            for i, p in enumerate(val)]


# ------------------------------------------------------------------------------------------------
# measuring (cached: the network runs once per photo and model)
# ------------------------------------------------------------------------------------------------

def variance_of_laplacian(rgb: np.ndarray) -> float:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def measure_rows(rows: list[dict], cache: Path, model: str) -> list[dict]:
    from blurstudio.detect import Detector
    from blurstudio.images import read_image

    detector = Detector(model, device="cpu")
    key = detector.card.get("sha256", detector.model_name)
    store = json.loads(cache.read_text()) if cache.exists() else {}
    store = store if store.get("model") == key else {"model": key, "photos": {}}
    t0, todo = time.perf_counter(), [r for r in rows if r["path"] not in store["photos"]]
    for n, r in enumerate(todo):
        rgb = read_image(r["path"])
        h, w = detector.working_size(*rgb.shape[:2])
        small = rgb if (h, w) == rgb.shape[:2] else cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        m = measure(detector.predict_small(small), small, max(rgb.shape[:2]))
        store["photos"][r["path"]] = {"measures": m.to_dict(), "vol": variance_of_laplacian(small)}
        if n % 50 == 49 or n == len(todo) - 1:
            cache.write_text(json.dumps(store))
            print(f"  measured {n + 1}/{len(todo)} ({(n + 1) / (time.perf_counter() - t0):.2f} photos/s)", file=sys.stderr)
    for r in rows:
        r.update(store["photos"][r["path"]])
        r["measures"] = Measures.from_dict(r["measures"])
    return rows


# ------------------------------------------------------------------------------------------------
# scoring
# ------------------------------------------------------------------------------------------------

def balanced_accuracy(rows: list[dict], config: CullConfig) -> float:
    """Mean recall over the verdicts, real photos a group of their own (so 60 real photos weigh as
    much as each verdict's composites, not a sixth of one)."""
    recalls = []
    groups = {(r["truth"], r["half"].startswith("real")) for r in rows}
    for v, real in sorted(groups):
        mine = [r for r in rows if r["truth"] == v and r["half"].startswith("real") == real]
        if mine:
            recalls.append(sum(decide(r["measures"], config).verdict == v for r in mine) / len(mine))
    return float(np.mean(recalls))


GRID = {
    "sharp_min": [0.5, 0.6, 0.7, 0.8, 0.9],
    "missed_sharp_max": [0.005, 0.01, 0.02, 0.04, 0.08],
    "motion_region_min": [0.005, 0.01, 0.02, 0.04, 0.08],
    "shake_share_min": [0.2, 0.3, 0.4, 0.5, 0.6],
    "edge_share_max": [0.4, 0.5, 0.6, 0.8, 1.0],
}


def tune(rows: list[dict]) -> CullConfig:
    best, best_config = -1.0, CullConfig()
    for values in itertools.product(*GRID.values()):
        try:
            config = replace(CullConfig(), **dict(zip(GRID, values)))
        except ValueError:
            continue
        acc = balanced_accuracy(rows, config)
        if acc > best + 1e-9:
            best, best_config = acc, config
    print(f"tuning half ({len(rows)} photos): best balanced accuracy {best:.3f} with")
    print("  " + ", ".join(f"{k}={getattr(best_config, k)}" for k in GRID))
    return best_config


def tune_vol(rows: list[dict]) -> float:
    """The Laplacian-variance threshold with the best keep/reject balanced accuracy on the tuning half."""
    scored = [(r["vol"], r["truth"] in KEEP) for r in rows if r["truth"] in KEEP + REJECT]
    best, best_t = -1.0, 0.0
    for t in sorted({v for v, _ in scored}):
        keep = [v >= t for v, k in scored if k]
        rej = [v < t for v, k in scored if not k]
        acc = (np.mean(keep) + np.mean(rej)) / 2
        if acc > best:
            best, best_t = acc, t
    return best_t


def report(title: str, rows: list[dict], config: CullConfig, vol_t: float) -> None:
    if not rows:
        return
    print(f"\n== {title}: {len(rows)} photos ==")
    truths = [v for v in VERDICTS if any(r["truth"] == v for r in rows)]
    print("ours (rows: truth; columns: verdict)")
    print(f"{'':>16}" + "".join(f"{v[:12]:>14}" for v in VERDICTS) + f"{'recall':>9}")
    for t in truths:
        mine = [decide(r["measures"], config).verdict for r in rows if r["truth"] == t]
        counts = [mine.count(v) for v in VERDICTS]
        print(f"{t:>16}" + "".join(f"{c:>14}" for c in counts) + f"{counts[VERDICTS.index(t)] / len(mine):>9.2f}")
    print(f"variance of Laplacian >= {vol_t:.1f} is 'sharp' (rows: truth)")
    print(f"{'':>16}{'sharp':>10}{'blurry':>10}")
    for t in truths:
        vols = [r["vol"] for r in rows if r["truth"] == t]
        n_sharp = sum(v >= vol_t for v in vols)
        print(f"{t:>16}{n_sharp:>10}{len(vols) - n_sharp:>10}")
    # Keep / reject: the decision a cull makes. Subject motion may be intended, so it is left out.
    kr = [r for r in rows if r["truth"] in KEEP + REJECT]
    if kr:
        ours = np.mean([(decide(r["measures"], config).verdict in KEEP) == (r["truth"] in KEEP) for r in kr])
        base = np.mean([(r["vol"] >= vol_t) == (r["truth"] in KEEP) for r in kr])
        print(f"keep (sharp, shallow focus) vs reject (missed focus, camera shake), {len(kr)} photos: "
              f"ours {ours:.3f}, variance of Laplacian {base:.3f}")
    exact = np.mean([decide(r["measures"], config).verdict == r["truth"] for r in rows])
    print(f"ours, exact verdict: {exact:.3f}" + (f"; balanced {balanced_accuracy(rows, config):.3f}" if len(truths) > 1 else ""))


# ------------------------------------------------------------------------------------------------
# throughput
# ------------------------------------------------------------------------------------------------

def make_24mp(out: Path, count: int) -> list[Path]:
    """`count` 6000x4000 JPEGs (quality 92) made from held-out photos, detail added so they decode
    like camera files (a smooth upscale compresses, and decodes, unrealistically fast)."""
    out.mkdir(parents=True, exist_ok=True)
    photos = sorted((DATA / "bsds500_test").glob("*.jpg"))[:count]
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        p = out / f"shot_{i:04d}.jpg"
        if not p.exists():
            rgb = cv2.imread(str(photos[i % len(photos)]))
            if rgb.shape[0] > rgb.shape[1]:
                rgb = rgb.transpose(1, 0, 2)
            big = cv2.resize(rgb, (6000, 4000), interpolation=cv2.INTER_CUBIC)
            big = np.clip(big + rng.normal(0, 4, big.shape), 0, 255).astype(np.uint8)
            cv2.imwrite(str(p), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(p)
    return paths


def _network_rate(detector, small: np.ndarray, calls: int = 4) -> float:
    detector.predict_small(small)  # warm-up
    t0 = time.perf_counter()
    for _ in range(calls):
        detector.predict_small(small)
    return calls / (time.perf_counter() - t0)


def _steady_rate(paths: list[Path], detector, workers: int, out: Path) -> float:
    """Photos per second of the culling pipeline in this process, from the 5th photo on: pool
    start-up and the network's first call are a fixed cost, not a rate."""
    import shutil

    from blurstudio.cull_batch import Settings, cull_photos

    shutil.rmtree(out, ignore_errors=True)
    settings = Settings("bench", detector.max_side, detector.scales, detector.flip)
    done = [time.perf_counter() for _ in cull_photos(paths, detector.predict_small, settings, out, workers)]
    skip = min(4, len(done) - 2)
    return (len(done) - 1 - skip) / (done[-1] - done[skip])


def _cull_command(folder: Path, model: str, workers: int, stop_after: int | None = None) -> tuple[float, str]:
    """Run `blurstudio cull` on folder/photos; (seconds, its stats line). stop_after: send Ctrl+C
    (SIGINT) once that many photos are in the cache, as a user interrupting the run would."""
    import signal
    import subprocess

    report_dir = folder / "report"
    cmd = [sys.executable, "-m", "blurstudio", "cull", str(folder / "photos"), "-o", str(report_dir),
           "--model", model, "--device", "cpu", "--workers", str(workers), "--stats"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if stop_after is not None:
        while proc.poll() is None and len(list((report_dir / ".cache").glob("*.npz"))) < stop_after:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    stats = [line for line in err.splitlines() if line.startswith(("stats:", "blurstudio cull: stopped"))]
    return time.perf_counter() - t0, stats[-1] if stats else err[-300:]


def throughput(folder: Path, count: int, model: str, workers: int) -> None:
    import shutil

    from blurstudio.cull_batch import decode
    from blurstudio.detect import Detector
    from blurstudio.images import read_image

    paths = make_24mp(folder / "photos", count)
    detector = Detector(model, device="cpu")
    small, _, _ = decode(paths[0], detector.max_side)
    t0 = time.perf_counter()
    read_image(paths[1])
    full_read = time.perf_counter() - t0
    print(f"full decode of one 24 MP JPEG: {full_read:.2f} s; the network's input: "
          f"{small.shape[1]}x{small.shape[0]}")
    # Alternated, so that a change in the machine's load shows as a spread, not as a bias.
    for _ in range(2):
        alone = _network_rate(detector, small)
        steady = _steady_rate(paths, detector, workers, folder / "report_inprocess")
        print(f"network alone {alone:.2f} photos/s; culling, steady (photo 5 on), --workers {workers}: "
              f"{steady:.2f} photos/s = {1 - steady / alone:.0%} below the network")
    shutil.rmtree(folder / "report", ignore_errors=True)
    for label in ("first run", "re-run (cache)"):
        dt, stats = _cull_command(folder, model, workers)
        print(f"blurstudio cull, {label}: {count} photos in {dt:.1f} s = {count / dt:.2f} photos/s "
              f"(process start and model load included); {stats}")
    shutil.rmtree(folder / "report", ignore_errors=True)
    dt, stats = _cull_command(folder, model, workers, stop_after=count // 2)
    print(f"blurstudio cull, Ctrl+C after {count // 2} photos: {dt:.1f} s; {stats}")
    dt, stats = _cull_command(folder, model, workers)
    print(f"blurstudio cull, resumed: {dt:.1f} s (process start and model load included); {stats}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--make-set", type=Path, metavar="OUT", help="write the labelled composite set here")
    ap.add_argument("--variants", type=int, default=2, help="frames of each whole-frame verdict per source photo")
    ap.add_argument("--object-variants", type=int, default=4,
                    help="shallow-focus and subject-motion frames per photo with a subject mask (fewer have masks)")
    ap.add_argument("--data", type=Path, help="a set made by --make-set")
    ap.add_argument("--tune", action="store_true", help="grid-search the thresholds on the tuning half")
    ap.add_argument("--no-real", action="store_true", help="skip the real CUHK photos")
    ap.add_argument("--model", default="compact")
    ap.add_argument("--throughput", type=Path, metavar="DIR", help="time culling 24 MP JPEGs made in DIR")
    ap.add_argument("--count", type=int, default=36, help="photos for --throughput")
    ap.add_argument("--workers", type=int, default=2, help="decoding processes for --throughput")
    args = ap.parse_args(argv)
    if args.make_set:
        print(f"wrote {make_set(args.make_set, args.variants, args.object_variants)} labelled photos to {args.make_set}")
    if args.data:
        with open(args.data / "labels.csv") as f:
            rows = [dict(r, path=str(args.data / "image" / f"{r['name']}.jpg")) for r in csv.DictReader(f)]
        real = [] if args.no_real else real_rows()
        measure_rows(rows + real, args.data / f"measures_{Path(args.model).stem}.json", args.model)
        tune_rows = [r for r in rows if r["half"] == "tune"]
        real_tune = [r for r in real if r["half"] == "real-tune"]
        real = [r for r in real if r["half"] == "real"]
        # Real photos count as shallow-focus photos of the tuning set: composites alone let the
        # thresholds fit the composites' clean maps (measured: 0.57 on real photos when left out).
        config = tune(tune_rows + real_tune) if args.tune else CullConfig()
        vol_t = tune_vol(tune_rows + real_tune)
        report("composites, tuning half", tune_rows, config, vol_t)
        report("real CUHK defocus photos, tuning half", real_tune, config, vol_t)
        report("composites, test half", [r for r in rows if r["half"] == "test"], config, vol_t)
        report("real CUHK defocus photos, validation split, reported half (truth: shallow focus)", real, config, vol_t)
    if args.throughput:
        throughput(args.throughput, args.count, args.model, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
