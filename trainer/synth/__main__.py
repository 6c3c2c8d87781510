"""Write a fixed synthetic set for validation or inspection, plus a contact sheet.

    python -m trainer.synth --out DIR --count N [--config TOML] [--photos D ...] [--objects D ...]
                            [--layouts D ...] [--exclude LIST ...] [--split train|val|all] [--seed S] [--size PX]

Writes DIR/image/NNNNN.png, DIR/gt/NNNNN.png (0 sharp / 100 motion / 200 defocus) and
DIR/contact_sheet.png (photos above their colour-coded labels). With no source folders the
samples are procedural (dead-leaves), so it works without any data set.
--config takes the source folders and exclusion lists, the generator settings ([synth]) and the size (val_size) from a
training config; with it and the other defaults (--split val, the default seed) it writes exactly
that run's validation set.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import cv2
import numpy as np

from .generate import VAL_SEED, make_sample, sample_rng, synth_config
from .sources import SOURCE_KEYS, load_sources

SHEET_PALETTE = np.array([(40, 40, 40), (230, 159, 0), (86, 180, 233)], np.uint8)  # sharp, motion, defocus


def contact_sheet(samples: list[tuple[np.ndarray, np.ndarray]], columns: int = 8) -> np.ndarray:
    """Each sample as its photo above its colour-coded label map, in a grid (RGB uint8)."""
    tiles = [np.concatenate([img, SHEET_PALETTE[lab]], axis=0) for img, lab in samples]
    h, w = tiles[0].shape[:2]
    rows = []
    for r in range(0, len(tiles), columns):
        row = tiles[r : r + columns]
        row += [np.zeros((h, w, 3), np.uint8)] * (columns - len(row))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trainer.synth", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="new or empty folder")
    ap.add_argument("--count", required=True, type=int)
    ap.add_argument("--config", type=Path, help="a training config (.toml): folders, [synth] settings and size")
    ap.add_argument("--photos", nargs="*", help="folders of sharp photos (default: the config's, else none)")
    ap.add_argument("--objects", nargs="*", help="folders with images/ and masks/ (default: the config's)")
    ap.add_argument("--layouts", nargs="*", help="folders of blurred-region masks (default: the config's)")
    ap.add_argument("--exclude", nargs="*", help="exclusion lists of photo file names (default: the config's)")
    ap.add_argument("--split", default="val", choices=["train", "val", "all"])
    ap.add_argument("--seed", type=int, default=VAL_SEED, help="default: the trainer's validation seed")
    ap.add_argument("--size", type=int, help="default: the config's val_size, else 224")
    args = ap.parse_args(argv)
    if args.count < 1:
        ap.error("--count must be at least 1")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        ap.error(f"{args.out} exists and is not an empty folder; give a new folder (nothing is overwritten)")
    run = {}
    if args.config:
        try:
            with open(args.config, "rb") as f:
                run = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            ap.error(f"cannot read config {args.config}: {e}")
    if not isinstance(run.get("synth", {}), dict) or not isinstance(run.get("data", {}), dict):
        ap.error(f"{args.config}: [data] and [synth] must be tables")
    data = run.get("data", {})
    folders = {k: data.get(k, []) if getattr(args, k) is None else getattr(args, k) for k in SOURCE_KEYS}
    try:
        cfg = synth_config(run.get("synth", {}), data.get("val_size", 224) if args.size is None else args.size)
        src = load_sources(folders["photos"], folders["objects"], folders["layouts"], args.split, folders["exclude"])
    except (ValueError, FileNotFoundError) as e:
        ap.error(str(e))
    (args.out / "image").mkdir(parents=True, exist_ok=True)
    (args.out / "gt").mkdir(parents=True, exist_ok=True)
    sheet = []
    for i in range(args.count):
        img, lab = make_sample(src, sample_rng(args.seed, i), cfg)
        cv2.imwrite(str(args.out / "image" / f"{i:05d}.png"), img[..., ::-1])
        cv2.imwrite(str(args.out / "gt" / f"{i:05d}.png"), (lab * 100).astype(np.uint8))
        if len(sheet) < 48:
            sheet.append((img, lab))
    cv2.imwrite(str(args.out / "contact_sheet.png"), contact_sheet(sheet)[..., ::-1])
    print(f"wrote {args.count} samples to {args.out} (sources: {src.describe()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
