"""Real labelled photos in training: crops with augmentation that fits real photos, mixed with the
synthetic stream at a fixed number of real samples per batch.

The real photos (e.g. the CUHK defocus photos, layout `cuhk`) are split by the same stable file-name
rule as the synthetic sources (`trainer.synth.sources.split_of`: 20 % 'val'), so the held-out photos
are never trained on and the validation figures can be reported.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .data import SynthStream, load_labelled_folder, to_tensor
from .synth import sample_rng
from .synth.generate import SynthConfig, camera, to_linear


REAL_SEED_OFFSET = 7_919  # the real stream's seed differs from the synthetic stream's


def load_real_photos(roots: list[str | Path], layout: str, split: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(name, RGB uint8, labels uint8)] of every folder in `roots` whose file name falls in `split`
    ('train', 'val' or 'all')."""
    out = []
    for root in roots:
        out += load_labelled_folder(root, layout, split)
    if not out:
        raise ValueError(f"no {split} photos in {', '.join(map(str, roots))}")
    return out


def real_crop(img: np.ndarray, labels: np.ndarray, rng: np.random.Generator, size: int, working_side: int,
              cfg: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """A `size` crop of a real photo at its working resolution (the longer side `working_side`, as the
    detector sees it) times a scale jitter of 0.7 to 1.3, mirrored half the time, with the
    generator's exposure, white balance, noise and JPEG jitter. Labels follow by nearest neighbour."""
    h, w = labels.shape
    scale = working_side / max(h, w) * rng.uniform(0.7, 1.3)
    scale = max(scale, size / min(h, w))  # never smaller than the crop
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    labels = cv2.resize(labels, (nw, nh), interpolation=cv2.INTER_NEAREST)
    y, x = int(rng.integers(0, nh - size + 1)), int(rng.integers(0, nw - size + 1))
    img, labels = img[y : y + size, x : x + size], labels[y : y + size, x : x + size]
    if rng.random() < 0.5:
        img, labels = img[:, ::-1], labels[:, ::-1]
    return camera(to_linear(np.ascontiguousarray(img)), rng, cfg), np.ascontiguousarray(labels)


class MixedStream(Dataset):
    """The synthetic stream with the first `real_per_batch` samples of every batch of `batch` taken
    from real photos instead. Sample i is a pure function of (seed, i), so runs resume exactly.
    Items are (image, labels, is_real)."""

    def __init__(self, synth: SynthStream, real: list, batch: int, real_per_batch: int, working_side: int):
        if not 0 <= real_per_batch <= batch:
            raise ValueError(f"real photos per batch must be from 0 to the batch size {batch}, got {real_per_batch}")
        self.synth, self.real, self.batch, self.real_per_batch, self.working_side = synth, real, batch, real_per_batch, working_side

    def __len__(self) -> int:
        return len(self.synth)

    def is_real(self, i: int) -> bool:
        return i % self.batch < self.real_per_batch

    def __getitem__(self, i: int):
        if not self.is_real(i):
            img, lab = self.synth[i]
            return img, lab, False
        rng = sample_rng(self.synth.seed + REAL_SEED_OFFSET, self.synth.start + i)
        _, photo, labels = self.real[int(rng.integers(len(self.real)))]
        img, lab = real_crop(photo, labels, rng, self.synth.cfg.size, self.working_side, self.synth.cfg)
        return to_tensor(img), torch.from_numpy(lab.astype(np.int64)), True


def real_val_set(real: list, working_side: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The held-out real photos resized to the working resolution, each side a multiple of 16
    (the network's stride), for validation during training."""
    out = []
    for _, img, labels in real:
        h, w = labels.shape
        s = working_side / max(h, w)
        nh, nw = max(16, round(h * s / 16) * 16), max(16, round(w * s / 16) * 16)
        out.append((cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA),
                    cv2.resize(labels, (nw, nh), interpolation=cv2.INTER_NEAREST)))
    return out



