"""Data sets for training and evaluation: the on-the-fly synthetic stream and real-data layouts.

Real-data layouts (all yield RGB uint8 + labels uint8 in 0 sharp / 1 motion / 2 defocus, or 255
'blurred, type unknown' where a data set has no type):
- cuhk:  DIR/image/*.jpg + DIR/gt/*.png, 255 = blurred; type from the name (motion* / out_of_focus*).
- dut:   DIR/image/* + DIR/gt/*.png, 255 = SHARP (DUT-DBD convention), defocus data set.
- kim:   DIR/image/* + DIR/gt/*.png with 0 sharp / 100 motion / 200 defocus (also our synth writer's layout).
- synth: same files as kim (written by `python -m trainer.synth`).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .synth import SynthConfig, load_sources, make_sample, sample_rng
from .synth.sources import IMAGE_SUFFIXES, split_of

UNKNOWN_BLUR = 255  # blurred, type not given by the data set
LAYOUTS = ("synth", "kim", "cuhk", "dut")
SPLITS = ("all", "train", "val")


def to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div_(255.0)


class SynthStream(Dataset):
    """Sample i of the stream is make_sample(rng(seed, start + i)): deterministic and resumable."""

    def __init__(self, source_dirs: dict, cfg: SynthConfig, seed: int, start: int = 0, length: int = 10**9, split: str = "train"):
        self.source_dirs, self.cfg, self.seed, self.start, self.length, self.split = source_dirs, cfg, seed, start, length, split
        self._src = None  # loaded lazily in each DataLoader worker

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        if self._src is None:
            self._src = load_sources(
                self.source_dirs.get("photos", []), self.source_dirs.get("objects", []), self.source_dirs.get("layouts", []), self.split,
                self.source_dirs.get("exclude", []),
            )
        img, lab = make_sample(self._src, sample_rng(self.seed, self.start + i), self.cfg)
        return to_tensor(img), torch.from_numpy(lab.astype(np.int64))


def _pairs(root: Path) -> list[tuple[Path, Path]]:
    img_dir, gt_dir = root / "image", root / "gt"
    if not img_dir.is_dir() or not gt_dir.is_dir():
        raise FileNotFoundError(f"{root} must contain image/ and gt/ folders")
    gts = {p.stem: p for p in gt_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = [(p, gts[p.stem]) for p in sorted(img_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in gts]
    if not pairs:
        raise FileNotFoundError(f"no image/gt pairs with matching names in {root}")
    return pairs


def labels_from_gt(gt: np.ndarray, layout: str, name: str = "") -> np.ndarray:
    """Convert a ground-truth image of a data set layout to class labels (see module doc)."""
    if layout in ("kim", "synth"):
        return np.select([gt < 50, gt < 150], [0, 1], 2).astype(np.uint8)
    if layout == "cuhk":
        blurred = gt > 127
        n = name.lower()
        cls = 1 if n.startswith("motion") else 2 if n.startswith("out_of_focus") else UNKNOWN_BLUR
        return np.where(blurred, cls, 0).astype(np.uint8)
    if layout == "dut":
        return np.where(gt > 127, 0, 2).astype(np.uint8)
    raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")


def load_labelled_folder(root: str | Path, layout: str, split: str = "all") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(name, RGB uint8, labels uint8)] for a folder in one of the LAYOUTS; `split` 'train' or 'val'
    keeps the photos whose file name falls in that part of the stable split (`split_of`)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    out = []
    for ip, gp in _pairs(Path(root)):
        if split != "all" and split_of(ip) != split:
            continue
        img = cv2.imread(str(ip), cv2.IMREAD_COLOR)
        gt = cv2.imread(str(gp), cv2.IMREAD_GRAYSCALE)
        if img is None or gt is None:
            raise ValueError(f"cannot read {ip} or {gp}")
        if gt.shape != img.shape[:2]:
            gt = cv2.resize(gt, img.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        out.append((ip.stem, img[..., ::-1].copy(), labels_from_gt(gt, layout, ip.stem)))
    return out
