"""Real photos in training: the held-out split, the mix per batch, the augmentation, the in-focus
protocol of the literature, and a tiny run that validates and exports with real photos."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from blurstudio.model import load_model
from trainer.data import SynthStream, load_labelled_folder
from trainer.evaluate import main as evaluate_main
from trainer.metrics import BlurMetrics, in_focus_scores
from trainer.real import MixedStream, load_real_photos, real_crop, real_val_set
from trainer.synth import SynthConfig
from trainer.synth.sources import split_of
from trainer.train import main as train_main


def _cuhk_folder(root: Path, count: int = 12) -> Path:
    """Photos named like the CUHK defocus set: textured left half sharp, smooth right half blurred."""
    (root / "image").mkdir(parents=True)
    (root / "gt").mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
        img[:, 40:] = cv2.GaussianBlur(img[:, 40:], (0, 0), 4)
        gt = np.zeros((60, 80), np.uint8)
        gt[:, 40:] = 255
        cv2.imwrite(str(root / "image" / f"out_of_focus{i:04d}.jpg"), img)
        cv2.imwrite(str(root / "gt" / f"out_of_focus{i:04d}.png"), gt)
    return root


def test_real_photos_split_by_the_stable_file_name_rule(tmp_path):
    root = _cuhk_folder(tmp_path / "cuhk", 30)
    train = {n for n, _, _ in load_real_photos([root], "cuhk", "train")}
    val = {n for n, _, _ in load_real_photos([root], "cuhk", "val")}
    assert train and val and not train & val and len(train | val) == 30
    assert all(split_of(Path(f"{n}.jpg")) == "val" for n in val)
    with pytest.raises(ValueError, match="unknown split"):
        load_labelled_folder(root, "cuhk", "test")


def test_mixed_stream_puts_the_configured_number_of_real_crops_in_every_batch(tmp_path):
    real = load_real_photos([_cuhk_folder(tmp_path / "cuhk")], "cuhk", "all")
    synth = SynthStream({}, SynthConfig(size=32), seed=3)
    stream = MixedStream(synth, real, batch=4, real_per_batch=3, working_side=64)
    flags = [stream[i][2] for i in range(12)]
    assert flags == [True, True, True, False] * 3
    img, lab, _ = stream[5]
    assert img.shape == (3, 32, 32) and set(np.unique(lab.numpy())) <= {0, 2}
    again = stream[5]
    assert (again[0] == img).all() and (again[1] == lab).all()  # a pure function of the index: resumable
    assert not (stream[4][0] == stream[0][0]).all()
    with pytest.raises(ValueError, match="from 0 to the batch size"):
        MixedStream(synth, real, batch=4, real_per_batch=5, working_side=64)


def test_real_crops_keep_labels_aligned_with_the_photo():
    rng = np.random.default_rng(1)
    img = np.zeros((120, 160, 3), np.uint8)
    img[:, 80:] = 255  # bright half labelled blurred
    labels = np.where(img[..., 0] > 0, 2, 0).astype(np.uint8)
    cfg = SynthConfig(size=48, noise_sigma=(0.0, 0.0), p_jpeg=0.0)
    for _ in range(20):
        crop, lab = real_crop(img, labels, rng, 48, 100, cfg)
        assert crop.shape == (48, 48, 3) and lab.shape == (48, 48)
        # Resampling blends the one column at the edge; everywhere else photo and labels agree.
        assert np.mean((crop[..., 0] > 128) != (lab == 2)) <= 1 / 48


def test_in_focus_protocol_scores_each_photo_and_averages():
    sharp = np.array([[1, 1, 0, 0]], bool)
    p = np.array([[0.9, 0.2, 0.7, 0.1]], np.float32)  # one hit, one miss, one false alarm
    iou, f, mae = in_focus_scores(p, sharp)
    assert iou == pytest.approx(1 / 3)
    assert f == pytest.approx(1.3 * 0.5 * 0.5 / (0.3 * 0.5 + 0.5))
    assert mae == pytest.approx((0.1 + 0.8 + 0.7 + 0.1) / 4)
    m = BlurMetrics()
    m.update(np.stack([p, 1 - p, np.zeros_like(p)]), np.where(sharp, 0, 2).astype(np.uint8))
    perfect = np.array([[1, 0]], np.float32)
    m.update(np.stack([perfect, 1 - perfect, np.zeros_like(perfect)]), np.array([[0, 2]], np.uint8))
    assert m.compute()["in_focus_iou"] == pytest.approx((1 / 3 + 1) / 2)


def test_evaluate_reports_the_held_out_split_in_the_literature_protocol(tmp_path, tiny_model_path, capsys):
    root = _cuhk_folder(tmp_path / "cuhk", 30)
    n_val = len(load_real_photos([root], "cuhk", "val"))
    args = ["--weights", str(tiny_model_path), "--data", str(root), "--layout", "cuhk", "--device", "cpu", "--split", "val"]
    assert evaluate_main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{n_val} images") and "in-focus region per photo at 0.5: IoU" in out


TOML = """
[model]
config = {{ enc_widths = [4, 8, 8, 8, 8], enc_depths = [1, 1, 1, 1, 1], dec_widths = [8, 8, 8, 8], dec_depths = [1, 1, 1, 1] }}
[data]
crop = 32
val_size = 32
val_count = 2
real = ["{real}"]
real_per_batch = 2
[train]
out = "{out}"
seed = 0
steps = 6
batch = 4
lr = 1e-2
warmup = 2
log_every = 3
val_every = 6
ckpt_every = 3
workers = 0
[export]
working_max_side = 64
"""


def test_training_with_real_photos_validates_and_exports_them(tmp_path):
    root = _cuhk_folder(tmp_path / "cuhk", 30)
    cfg = tmp_path / "real.toml"
    cfg.write_text(TOML.format(real=root.as_posix(), out=(tmp_path / "run").as_posix()))
    assert train_main(["--config", str(cfg), "--export", str(tmp_path / "w.pt")]) == 0
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    header, last = log[0].split(","), dict(zip(log[0].split(","), log[-1].split(",")))
    assert "real_in_focus_iou" in header and 0 <= float(last["real_in_focus_iou"]) <= 1
    _, card = load_model(tmp_path / "w.pt")
    n_val = len(real_val_set(load_real_photos([root], "cuhk", "val"), 64))
    assert card["metrics"]["real_val_count"] == n_val
    assert 0 <= card["metrics"]["real_val"]["in_focus_iou"] <= 1
    assert card["training"]["real_per_batch"] == 2 and card["training"]["data_sources"]["real"] == [root.as_posix()]
