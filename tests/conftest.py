"""Shared test setup: Qt without a display, and a tiny randomly initialised BlurNet on disk."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt

from pathlib import Path

import pytest
import torch

from blurstudio.model import BlurNetConfig, build_model, save_model

# The tests run tiny networks on a shared 2-core machine: one intra-op thread avoids thread
# contention that made them 100x slower under load.
torch.set_num_threads(1)

# Same topology as the presets, a few channels wide: builds and runs in milliseconds.
TINY_CONFIG = BlurNetConfig(
    enc_widths=(4, 4, 8, 8, 8),
    enc_depths=(1, 1, 1, 1, 1),
    dec_widths=(8, 8, 4, 4),
    dec_depths=(1, 1, 1, 1),
)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """Path of a saved tiny BlurNet (tiny.pt with its card tiny.json), random weights, seed 0.
    Shared by the whole session: copy the files before changing them."""
    torch.manual_seed(0)
    model = build_model(TINY_CONFIG)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_model(model, path, {"name": "tiny", "training": {"data": "none (random weights for tests)"}})
    return path


@pytest.fixture(scope="session", autouse=True)
def compiled_matting():
    """pymatting compiles its numba kernels on first use: about a minute on a fresh install (numba
    caches them after that). Done once here, before the GUI tests, whose waits would otherwise run
    out while a worker compiles."""
    import numpy as np

    from blurstudio.blurmap import BlurMap
    from blurstudio.edit.matte import cutout
    from blurstudio.edit.selection import select
    from blurstudio.edit.settings import SOLVERS

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    labels = np.full((48, 64), 2, np.uint8)
    labels[12:36, 16:48] = 0
    for solver in SOLVERS:
        sel = select(photo, BlurMap.from_labels(labels), solver=solver)
    cutout(photo, sel.alpha)
