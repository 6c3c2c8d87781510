"""BlurMap: labels, blur, fractions, images, colours, overlay, save/load; export_masks."""

import numpy as np
import pytest

from blurstudio.blurmap import CLASS_NAMES, DEFOCUS, MOTION, PALETTE, SHARP, BlurMap
from blurstudio.export import export_masks, overlay_image
from blurstudio.images import ImageError, read_image, write_image


def _map():
    labels = np.array([[0, 1], [2, 2]])
    return BlurMap.from_labels(labels)


def test_labels_blur_fractions():
    bm = _map()
    assert bm.shape == (2, 2) and CLASS_NAMES == ("sharp", "motion", "defocus")
    assert bm.labels.tolist() == [[SHARP, MOTION], [DEFOCUS, DEFOCUS]] and bm.labels.dtype == np.uint8
    assert bm.blur.tolist() == [[0, 1], [1, 1]]
    assert bm.fractions() == {"sharp": 0.25, "motion": 0.25, "defocus": 0.5}
    assert bm.label_image().tolist() == [[0, 100], [200, 200]]
    assert bm.blur_image().tolist() == [[0, 255], [255, 255]]


def test_labels_match_argmax_including_ties():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([1, 1, 1], size=(50, 60)).transpose(2, 0, 1).astype(np.float32)
    p[:, 0, :3] = 1 / 3
    p[:, 1, :3] = np.array([0.4, 0.4, 0.2])[:, None]
    p[:, 2, :3] = np.array([0.2, 0.4, 0.4])[:, None]
    assert (BlurMap(p).labels == np.argmax(p, axis=0)).all()


def test_shape_is_checked():
    with pytest.raises(ValueError, match="shape"):
        BlurMap(np.zeros((2, 4, 4)))


def test_colorize_and_overlay():
    bm = _map()
    assert (bm.colorize()[0, 1] == PALETTE[MOTION]).all()
    photo = np.full((2, 2, 3), 100, np.uint8)
    over = bm.overlay(photo)  # sharp pixels stay untinted by default
    assert (over[0, 0] == 100).all()
    expected = np.round(0.5 * 100 + 0.5 * PALETTE[DEFOCUS].astype(float))
    assert np.abs(over[1, 0].astype(float) - expected).max() <= 1
    assert (bm.overlay(photo, visible=(False, False, False)) == photo).all()
    assert (overlay_image(photo, bm) == over).all()
    with pytest.raises(ValueError, match="does not match"):
        bm.overlay(np.zeros((3, 3, 3), np.uint8))


def test_overlay_equals_rgb_blend_on_soft_maps():
    rng = np.random.default_rng(1)
    p = rng.dirichlet([1, 1, 1], size=(30, 40)).transpose(2, 0, 1).astype(np.float32)
    photo = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    w = p * np.array([0, 1, 1], np.float32)[:, None, None]
    alpha = np.clip(w.sum(0), 0, 1) * 0.5
    tint = np.einsum("chw,cd->hwd", w, PALETTE.astype(np.float32)) / np.maximum(w.sum(0), 1e-6)[..., None]
    ref = np.clip(photo * (1 - alpha[..., None]) + tint * alpha[..., None] + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(BlurMap(p).overlay(photo).astype(int) - ref).max() <= 1


def test_save_load(tmp_path):
    bm = _map()
    bm.save(tmp_path / "m.npz")
    assert (BlurMap.load(tmp_path / "m.npz").probs == bm.probs).all()
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(ValueError, match="bad.npz"):
        BlurMap.load(tmp_path / "bad.npz")


def test_export_masks(tmp_path):
    photo = np.random.default_rng(0).integers(0, 256, (2, 2, 3), dtype=np.uint8)
    paths = export_masks(photo, _map(), tmp_path, "s", probs=True)
    assert sorted(paths) == ["blur", "labels", "overlay", "probs"]
    assert read_image(paths["labels"])[..., 0].tolist() == [[0, 100], [200, 200]]
    assert np.load(paths["probs"]).dtype == np.float16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s_blur.png", "s_labels.png", "s_overlay.jpg", "s_probs.npy"]


def test_export_refuses_inputs_before_writing_anything(tmp_path):
    victim = write_image(tmp_path / "s_overlay.jpg", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ImageError, match="refusing to write over the input"):
        export_masks(np.zeros((2, 2, 3), np.uint8), _map(), tmp_path, "s", protect=[victim])
    assert [p.name for p in tmp_path.iterdir()] == ["s_overlay.jpg"]
