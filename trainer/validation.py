"""Validation sets and metrics of the network alone, shared by the trainer, the export and the
benchmarks: the fixed synthetic set of held-out photos and the held-out real photos."""

from __future__ import annotations

import numpy as np
import torch

from blurstudio.model import normalise

from .config import RunConfig
from .data import to_tensor
from .metrics import BlurMetrics
from .real import load_real_photos, real_val_set
from .synth import VAL_SEED, SynthConfig, load_sources, make_sample, sample_rng


def make_val_set(source_dirs: dict, cfg: SynthConfig, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A fixed validation set from the held-out ('val' split) photos, objects and layouts."""
    src = load_sources(source_dirs.get("photos", []), source_dirs.get("objects", []), source_dirs.get("layouts", []), "val",
                       source_dirs.get("exclude", []))
    return [make_sample(src, sample_rng(VAL_SEED, i), cfg) for i in range(count)]


@torch.inference_mode()
def validate(model: torch.nn.Module, val: list, device: torch.device, batch: int = 8) -> dict:
    """Metrics of the network alone on [(RGB uint8, labels)]; photos of different sizes need batch=1."""
    model.eval()
    metrics = BlurMetrics()
    for i in range(0, len(val), batch):
        imgs = torch.stack([to_tensor(x) for x, _ in val[i : i + batch]]).to(device)
        probs = torch.softmax(model(normalise(imgs))[-1].float(), dim=1).cpu().numpy()
        for p, (_, lab) in zip(probs, val[i : i + batch]):
            metrics.update(p, lab)
    model.train()
    return metrics.compute()



def val_metrics(model: torch.nn.Module, cfg: RunConfig, val: list | None = None, real: list | None = None) -> dict:
    """The card's metrics: the run's synthetic validation set (`val`, built when not given) and,
    when the run mixed in real photos, their held-out part at the detector's working resolution (`real`,
    likewise)."""
    if val is None:
        val = make_val_set(cfg.data.sources(), cfg.val_synth, cfg.data.val_count)
    metrics = {"synthetic_val": validate(model, val, torch.device("cpu")), "synthetic_val_count": len(val)}
    if cfg.data.real:
        if real is None:
            real = real_val_set(load_real_photos(cfg.data.real, cfg.data.real_layout, "val"), cfg.export.working_max_side)
        metrics.update(real_val=validate(model, real, torch.device("cpu"), batch=1), real_val_count=len(real))
    return metrics


