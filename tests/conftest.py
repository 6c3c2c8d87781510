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
