"""Detector: full-resolution output, working resolution, tiling, edge-aware upsampling, progress, cancel."""

import json
import shutil

import cv2
import numpy as np
import pytest
import torch

from blurstudio.detect import (
    TILE_OVERLAP,
    Cancelled,
    Detector,
    _tile_starts,
    pick_device,
)
from blurstudio.model import STRIDE, WeightsError
from blurstudio.ops.guided import upsample_probs


@pytest.fixture(scope="module")
def detector(tiny_model_path):
    return Detector(tiny_model_path, device="cpu", max_side=64)


def _photo(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_probabilities_at_full_resolution(detector):
    bm = detector(_photo(150, 230))
    assert bm.shape == (150, 230) and bm.probs.dtype == np.float32
    assert np.allclose(bm.probs.sum(axis=0), 1.0, atol=1e-4)
    assert bm.probs.min() >= 0.0 and bm.probs.max() <= 1.0
    assert bm.meta["working_size"] == [64, 42]
    assert bm.meta["model_name"] == "tiny" and bm.meta["device_name"] == "CPU"
    assert bm.meta["card"]["name"] == "tiny"
    assert set(bm.meta["timings"]) >= {"network", "upsample", "total"}
    assert detector.model_name == "tiny" and detector.device == torch.device("cpu")


def test_small_photos_are_not_upscaled(detector):
    assert detector.working_size(30, 50) == (30, 50)
    assert detector.working_size(1000, 3000) == (21, 64)
    assert detector(_photo(30, 50)).meta["working_size"] == [50, 30]


def test_greyscale_and_float_input(detector):
    assert detector(_photo(20, 20)[..., 0]).shape == (20, 20)
    assert detector(_photo(20, 20).astype(np.float32) / 255.0).shape == (20, 20)
    with pytest.raises(ValueError, match="shape"):
        detector(np.zeros((4, 4, 2), np.uint8))


def test_default_max_side(tiny_model_path):
    assert Detector(tiny_model_path, device="cpu").max_side == 640


def test_progress_and_cancel(detector):
    seen = []
    detector(_photo(100, 120), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3
    with pytest.raises(Cancelled):
        detector(_photo(100, 120), cancel=lambda: True)
    calls = []

    def cancel_later():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        detector(_photo(100, 120), cancel=cancel_later)


def test_tiled_network_run(tiny_model_path):
    tiled = Detector(tiny_model_path, device="cpu", max_side=400, tile=128)
    photo = _photo(300, 400)
    bm = tiled(photo)
    assert bm.shape == (300, 400)
    assert np.allclose(bm.probs.sum(axis=0), 1.0, atol=1e-4)
    whole = Detector(tiny_model_path, device="cpu", max_side=400, tile=1024)(photo)
    # Tiles see less context, so they differ a little, but not wholesale.
    assert np.abs(bm.probs - whole.probs).mean() < 0.1


def test_tile_starts_cover_with_overlap():
    for tile, overlap in ((1024, TILE_OVERLAP), (128, 32), (64, 16)):
        for length in (400, 1024, 1040, 3008):
            starts = _tile_starts(length, tile)
            assert starts[0] == 0 and starts[-1] + min(length, tile) == length
            assert all(s % STRIDE == 0 for s in starts)
            assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))
            assert len(starts) <= length // (tile - overlap) + 2


def test_guided_upsampling_follows_photo_edges():
    # Photo: black left half, white right half (edge at column 100). The coarse map's transition
    # is off by half a working pixel; the upsampled labels must switch exactly at the photo edge.
    photo = np.zeros((200, 200, 3), np.uint8)
    photo[:, 100:] = 255
    small = photo[::10, ::10].copy()
    ramp = np.clip((np.arange(20) - 8.5) / 2.0 + 0.5, 0, 1).astype(np.float32)  # centre at 8.5, edge at 9.5
    defocus = np.tile(ramp, (20, 1))
    probs_small = np.stack([1 - defocus, np.zeros_like(defocus), defocus])
    probs = upsample_probs(probs_small, small, photo, strip_pixels=5000)  # many strips
    labels = probs.argmax(axis=0)
    assert (labels[:, :100] == 0).all() and (labels[:, 100:] == 2).all()
    assert np.allclose(probs.sum(axis=0), 1.0, atol=1e-5)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            pick_device("cuda")


def test_max_side_must_be_sensible(tiny_model_path):
    with pytest.raises(ValueError, match="max_side"):
        Detector(tiny_model_path, device="cpu", max_side=4)


def test_card_flip_averages_the_network_with_its_mirror_image(tiny_model_path, tmp_path):
    pt = tmp_path / "flip.pt"
    shutil.copy(tiny_model_path, pt)
    card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    card["working_flip"] = True
    pt.with_suffix(".json").write_text(json.dumps(card))
    flipped, plain = Detector(pt, device="cpu", max_side=96), Detector(tiny_model_path, device="cpu", max_side=96)
    assert flipped.flip and not plain.flip

    img = _photo(64, 96)
    mirrored = plain.predict_small(np.ascontiguousarray(img[:, ::-1]))[:, :, ::-1]
    expected = 0.5 * (plain.predict_small(img) + mirrored)
    got = flipped.predict_small(img)
    assert np.allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, plain.predict_small(img), atol=1e-3)
    assert flipped(img).meta["flip"] is True
    assert not Detector(pt, device="cpu", flip=False).flip  # an explicit choice wins


def test_card_scales_average_the_network_over_sizes(tiny_model_path, tmp_path):
    pt = tmp_path / "ms.pt"
    shutil.copy(tiny_model_path, pt)
    card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    card["working_scales"] = [1.0, 0.5]
    pt.with_suffix(".json").write_text(json.dumps(card))
    multi, single = Detector(pt, device="cpu", max_side=96), Detector(tiny_model_path, device="cpu", max_side=96)
    assert multi.scales == (1.0, 0.5) and single.scales == (1.0,)

    img = _photo(64, 96)
    half = single.predict_small(cv2.resize(img, (48, 32), interpolation=cv2.INTER_AREA))
    half_up = np.stack([cv2.resize(c, (96, 64), interpolation=cv2.INTER_LINEAR) for c in half])
    expected = 0.5 * (single.predict_small(img) + half_up)
    seen = []
    got = multi.predict_small(img, seen.append)
    assert np.allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, single.predict_small(img), atol=1e-3)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert multi(img).meta["scales"] == [1.0, 0.5]

    assert Detector(pt, device="cpu", scales=[1.0]).scales == (1.0,)  # an explicit choice wins
    card["working_scales"] = [1.0, 1.5]  # a card out of range is refused when loaded (a schema)
    pt.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="'working_scales' must be a list of factors in"):
        Detector(pt, device="cpu")
    with pytest.raises(ValueError, match="working scales"):
        Detector(tiny_model_path, device="cpu", scales=[1.5])
    with pytest.raises(ValueError, match="working scales"):
        Detector(tiny_model_path, device="cpu", scales=[])


def test_bundled_weights_find_the_blur_in_the_sample_photo():
    # A check on the shipped weights themselves, not on the code: on the bundled sample (sharp
    # cup, defocused table, motion-blurred cat) they score 0.927 binary / 0.826 3-class mIoU.
    from blurstudio.images import read_image
    from blurstudio.model import WEIGHTS_DIR
    from trainer.data import labels_from_gt
    from trainer.metrics import BlurMetrics

    samples = WEIGHTS_DIR.parents[0] / "samples"
    photo = read_image(samples / "sample.jpg")
    labels = labels_from_gt(cv2.imread(str(samples / "sample_labels.png"), cv2.IMREAD_GRAYSCALE), "kim")
    m = BlurMetrics()
    m.update(Detector("compact", device="cpu")(photo).probs, labels)
    r = m.compute()
    assert r["binary_miou"] > 0.88 and r["miou"] > 0.75, r
