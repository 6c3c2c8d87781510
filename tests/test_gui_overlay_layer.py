"""BlurMap.overlay_rgba: the overlay layer the GUI composites with a painter opacity."""

import numpy as np

from blurstudio.blurmap import BlurMap


def _blend(photo, layer, opacity):
    a = layer[..., 3:4].astype(np.float32) / 255.0 * opacity
    rgb = layer[..., :3].astype(np.float32) * opacity  # premultiplied
    return np.clip(photo.astype(np.float32) * (1 - a) + rgb + 0.5, 0, 255).astype(np.uint8)


def test_layer_blended_matches_overlay():
    rng = np.random.default_rng(0)
    p = rng.random((3, 37, 41)).astype(np.float32)
    bm = BlurMap(p / p.sum(axis=0, keepdims=True))
    photo = rng.integers(0, 256, (37, 41, 3), dtype=np.uint8)
    for visible in [(False, True, True), (True, False, True), (False, False, False)]:
        layer = bm.overlay_rgba(visible, rows=7)  # several bands
        assert layer.shape == (37, 41, 4) and layer.dtype == np.uint8
        ref = bm.overlay(photo, 0.6, visible)
        assert np.abs(_blend(photo, layer, 0.6).astype(int) - ref.astype(int)).max() <= 2


def test_layer_hidden_classes_are_transparent_and_step_subsamples():
    bm = BlurMap.from_labels(np.array([[0, 1], [2, 0]], np.uint8))
    layer = bm.overlay_rgba((False, True, False))
    assert layer[0, 0, 3] == 0 and layer[1, 0, 3] == 0 and layer[0, 1, 3] == 255
    assert bm.overlay_rgba(step=2).shape == (1, 1, 4)
