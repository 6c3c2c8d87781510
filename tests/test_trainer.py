"""Trainer: kernels, the synthetic generator, data layouts, metrics, training, resume, export."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from blurstudio.model import load_model, normalise
from trainer.data import labels_from_gt, load_labelled_folder
from trainer.metrics import BlurMetrics
from trainer.synth import MIN_VISIBLE_EXTENT, Sources, SynthConfig, make_sample, sample_rng, synth_config
from trainer.synth.__main__ import main as synth_main
from trainer.evaluate import main as evaluate_main
from trainer.config import tomllib
from trainer.start import init_from_weights, model_from_config
from trainer.train import lr_factor
from trainer.validation import make_val_set
from trainer.synth.kernels import disk_kernel, gaussian_kernel, kernel_extent, linear_motion_kernel, polygon_kernel, shake_kernel
from trainer.screen import main as screen_main
from trainer.synth.sources import MAX_BLURRED_FRACTION, blurred_fraction, dead_leaves, load_sources, read_exclusion_list, split_of
from trainer.train import main as train_main


# --- kernels -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kernel",
    [disk_kernel(0.0), disk_kernel(1.3), disk_kernel(6.5), polygon_kernel(5.0, 6, 0.3), gaussian_kernel(3.0),
     linear_motion_kernel(12.0, 33.0), linear_motion_kernel(25.0, 90.0),
     shake_kernel(20.0, np.random.default_rng(3))],
)
def test_kernels_are_normalised_odd_and_centred(kernel):
    assert kernel.dtype == np.float32
    assert kernel.min() >= 0
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
    h, w = kernel.shape
    assert h % 2 == 1 and w % 2 == 1
    y, x = np.mgrid[:h, :w]
    assert (kernel * x).sum() == pytest.approx((w - 1) / 2, abs=0.5)  # no image shift
    assert (kernel * y).sum() == pytest.approx((h - 1) / 2, abs=0.5)


def test_kernel_shapes_follow_parameters():
    disk = disk_kernel(5.0)
    assert disk.shape == (11, 11)
    assert disk[5, 5] > 0 and disk[0, 0] == 0  # round, not square
    horizontal = linear_motion_kernel(15.0, 0.0)
    ys, xs = np.nonzero(horizontal > 1e-4)
    assert xs.max() - xs.min() >= 14 and ys.max() - ys.min() <= 1
    vertical = linear_motion_kernel(15.0, 90.0)
    ys, xs = np.nonzero(vertical > 1e-4)
    assert ys.max() - ys.min() >= 14 and xs.max() - xs.min() <= 1
    assert kernel_extent(disk_kernel(8)) > kernel_extent(disk_kernel(4)) > kernel_extent(disk_kernel(1))
    assert kernel_extent(disk_kernel(1.0)) < MIN_VISIBLE_EXTENT <= kernel_extent(disk_kernel(1.8))
    # A Gaussian of sigma r/2 is as wide (RMS) as a disk of radius r.
    assert kernel_extent(gaussian_kernel(3.0)) == pytest.approx(kernel_extent(disk_kernel(6.0)), rel=0.05)
    with pytest.raises(ValueError):
        polygon_kernel(4.0, 2)


# --- generator -----------------------------------------------------------------------------

def _local_detail(img: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.GaussianBlur(np.abs(cv2.Laplacian(grey, cv2.CV_32F)), (0, 0), 2)


def test_generator_is_deterministic_by_seed_and_index():
    src = Sources()
    cfg = SynthConfig(size=64)
    a_img, a_lab = make_sample(src, sample_rng(7, 3), cfg)
    b_img, b_lab = make_sample(src, sample_rng(7, 3), cfg)
    c_img, _ = make_sample(src, sample_rng(7, 4), cfg)
    assert a_img.shape == (64, 64, 3) and a_img.dtype == np.uint8 and a_lab.shape == (64, 64)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    assert not np.array_equal(a_img, c_img)


def test_all_sharp_scenario_labels_everything_sharp():
    cfg = SynthConfig(size=64, p_sharp=1.0, p_full=0.0, p_layout=0.0)
    for i in range(4):
        _, lab = make_sample(Sources(), sample_rng(1, i), cfg)
        assert (lab == 0).all()


def test_fully_blurred_scenario_labels_blurred_and_removes_detail():
    sharp_cfg = SynthConfig(size=96, p_sharp=1.0, p_full=0.0, p_layout=0.0, noise_sigma=(0, 0), p_jpeg=0)
    blur_cfg = SynthConfig(size=96, p_sharp=0.0, p_full=1.0, p_layout=0.0, noise_sigma=(0, 0), p_jpeg=0,
                           defocus_radius=(3.0, 6.0), motion_length=(10.0, 20.0))
    for i in range(6):
        img_s, _ = make_sample(Sources(), sample_rng(2, i), sharp_cfg)
        img_b, lab = make_sample(Sources(), sample_rng(2, i), blur_cfg)
        # Depth-ramped defocus may leave a band below the visibility threshold sharp.
        assert (lab != 0).mean() > 0.5
        assert set(np.unique(lab)) <= {0, 1, 2}
        assert _local_detail(img_b).mean() < 0.7 * _local_detail(img_s).mean()


def test_labels_follow_where_blur_was_applied():
    cfg = SynthConfig(size=128, p_sharp=0.0, p_full=0.0, p_layout=1.0, noise_sigma=(0, 0), p_jpeg=0,
                      defocus_radius=(4.0, 8.0), motion_length=(12.0, 24.0))
    ratios = []
    for i in range(8):
        img, lab = make_sample(Sources(), sample_rng(5, i), cfg)
        blurred = cv2.erode((lab != 0).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        sharp = cv2.erode((lab == 0).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        if blurred.sum() > 200 and sharp.sum() > 200:
            detail = _local_detail(img)
            ratios.append(detail[blurred].mean() / detail[sharp].mean())
    assert len(ratios) >= 4
    assert np.median(ratios) < 0.6


def test_out_of_focus_objects_are_labelled_defocus():
    # Object composites only; the same seeds with the mode off (moving objects over a sharp
    # background) and on (out-of-focus objects over it).
    base = dict(size=128, p_sharp=0.0, p_full=0.0, p_layout=0.0, noise_sigma=(0, 0), p_jpeg=0,
                defocus_radius=(4.0, 8.0), motion_length=(12.0, 24.0))
    checked = 0
    for i in range(40):
        _, lab_off = make_sample(Sources(), sample_rng(9, i), SynthConfig(**base, p_object_defocus=0.0))
        img, lab = make_sample(Sources(), sample_rng(9, i), SynthConfig(**base, p_object_defocus=1.0))
        if np.array_equal(lab, lab_off) or (lab_off == 2).any():
            continue  # the mode did not apply: not a composite over a sharp background
        assert (lab_off == 1).any()
        assert not (lab == 1).any() and (lab == 2).any()
        blurred = cv2.erode((lab == 2).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        sharp = cv2.erode((lab == 0).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        if blurred.sum() > 100 and sharp.sum() > 100:
            detail = _local_detail(img)
            assert detail[blurred].mean() < 0.7 * detail[sharp].mean()
            checked += 1
    assert checked >= 2


def test_moving_objects_over_defocused_backgrounds_mix_both_labels():
    base = dict(size=96, p_sharp=0.0, p_full=0.0, p_layout=0.0, p_object_defocus=0.0, noise_sigma=(0, 0),
                p_jpeg=0, defocus_radius=(4.0, 8.0), motion_length=(12.0, 24.0))
    mixed = {}
    for q in (0.0, 1.0):
        labs = [make_sample(Sources(), sample_rng(11, i), SynthConfig(**base, p_object_motion=q))[1] for i in range(30)]
        with_defocus = [lab for lab in labs if (lab == 2).any()]
        assert len(with_defocus) >= 5
        mixed[q] = sum(bool((lab == 1).any()) for lab in with_defocus) / len(with_defocus)
    assert mixed[0.0] == 0.0  # a defocused background then only ever holds a sharp object
    assert mixed[1.0] > 0.9


def test_synth_settings_come_from_the_config_and_typos_are_refused(tmp_path, capsys):
    cfg = synth_config({"p_object_defocus": 0.0, "defocus_radius": [2.0, 5.0]}, 96)
    assert cfg.size == 96 and cfg.p_object_defocus == 0.0 and cfg.defocus_radius == (2.0, 5.0)
    with pytest.raises(ValueError, match="p_object_defocsu"):
        synth_config({"p_object_defocsu": 0.5}, 96)
    with pytest.raises(ValueError, match="p_object_motion is a probability"):
        synth_config({"p_object_motion": 1.5}, 96)
    with pytest.raises(ValueError, match="p_sharp \\+ p_full \\+ p_layout"):
        synth_config({"p_layout": 0.9}, 96)
    # The trainer refuses the typo before it creates the run folder.
    out = tmp_path / "run"
    toml = Path(_config(tmp_path, out, 10))
    toml.write_text(toml.read_text() + "\n[synth]\np_object_defocsu = 0.5\n")
    with pytest.raises(SystemExit):
        train_main(["--config", str(toml)])
    assert "p_object_defocsu" in capsys.readouterr().err and not out.exists()


def test_trainer_refuses_unreadable_or_incomplete_configs(tmp_path, capsys):
    out = tmp_path / "run"
    good = Path(_config(tmp_path, out, 10)).read_text()
    cases = {"missing.toml": (None, "cannot read config"), "broken.toml": ("[model\n", "cannot read config"),
             "no_train.toml": (good.split("[train]")[0], "needs a [train] table"),
             "typo.toml": (good.replace("\nlr =", "\nlr_typo ="), "unknown [train] setting(s) lr_typo; known: out,"),
             "no_lr.toml": (good.replace("\nlr = 1e-2", ""), "[train] needs lr"),
             "bad_data.toml": (good.replace("crop = 32", "crop = 30"), "[data] crop must be a multiple of 16"),
             "extra_table.toml": (good + "[trian]\n", "unknown table(s) trian")}
    for name, (text, message) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(SystemExit):
            train_main(["--config", str(tmp_path / name)])
        assert message in capsys.readouterr().err, name
    assert not out.exists()


def test_sources_split_is_stable_and_disjoint(tmp_path):
    names = [f"photo_{i:03d}.jpg" for i in range(200)]
    splits = [split_of(Path(n)) for n in names]
    assert splits == [split_of(Path(n)) for n in names]
    assert 0.1 < splits.count("val") / len(splits) < 0.3
    # Folders load per split, with objects (images/ + masks/) also used as backgrounds.
    (tmp_path / "obj" / "images").mkdir(parents=True)
    (tmp_path / "obj" / "masks").mkdir()
    rng = np.random.default_rng(0)
    for n in names[:20]:
        stem = Path(n).stem
        cv2.imwrite(str(tmp_path / "obj" / "images" / f"{stem}.jpg"), rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
        mask = np.zeros((40, 50), np.uint8)
        mask[10:30, 10:40] = 255
        cv2.imwrite(str(tmp_path / "obj" / "masks" / f"{stem}.png"), mask)
    train = load_sources(object_dirs=[tmp_path / "obj"], split="train")
    val = load_sources(object_dirs=[tmp_path / "obj"], split="val")
    assert len(train.objects) + len(val.objects) == 20
    assert len(train.photos) == len(train.objects)
    img, lab = make_sample(train, sample_rng(0, 0), SynthConfig(size=32))
    assert img.shape == (32, 32, 3)


def test_blurry_source_photos_are_left_out(tmp_path):
    # Untouched pixels are labelled sharp, so a photo with real defocus must not become a source.
    rng = np.random.default_rng(1)
    sharp = dead_leaves(256, rng)
    soft = cv2.GaussianBlur(sharp, (0, 0), 2.5)
    assert blurred_fraction(sharp) < MAX_BLURRED_FRACTION < blurred_fraction(soft)
    half = sharp.copy()
    half[:, 128:] = soft[:, 128:]  # shallow depth of field: half the frame defocused
    assert blurred_fraction(half) > MAX_BLURRED_FRACTION
    (tmp_path / "photos").mkdir()
    for name, img in (("sharp.png", sharp), ("soft.png", soft), ("half.png", half)):
        cv2.imwrite(str(tmp_path / "photos" / name), img[..., ::-1])
    src = load_sources(photo_dirs=[tmp_path / "photos"], split="all")
    assert len(src.photos) == 1 and np.array_equal(src.photos[0], sharp)
    assert sorted(src.left_out_blurry) == ["half.png", "soft.png"]


def test_listed_source_photos_are_left_out_and_unknown_names_refused(tmp_path, capsys):
    # A smooth out-of-focus background has no edges for the edge check; a list names such photos.
    rng = np.random.default_rng(2)
    (tmp_path / "photos").mkdir()
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(tmp_path / "photos" / name), dead_leaves(96, rng))
    listing = tmp_path / "blurry.txt"
    listing.write_text("# real defocus\nb.png  # 0.61\n\n")
    src = load_sources(photo_dirs=[tmp_path / "photos"], split="all", exclude=[listing])
    assert len(src.photos) == 2 and src.left_out_listed == ["b.png"]
    listing.write_text("b.png\nd.png\n")  # a misspelt or stale name would silently exclude nothing
    with pytest.raises(ValueError, match="d.png"):
        load_sources(photo_dirs=[tmp_path / "photos"], split="all", exclude=[listing])
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        load_sources(photo_dirs=[tmp_path / "photos"], split="all", exclude=[tmp_path / "missing.txt"])
    # The writer takes the list from the config; the trainer refuses a missing list before it starts.
    toml = tmp_path / "run.toml"
    toml.write_text(f'[data]\nphotos = ["{tmp_path / "photos"}"]\nexclude = ["{tmp_path / "blurry.txt"}"]\nval_size = 32\n')
    listing.write_text("b.png\n")
    assert synth_main(["--out", str(tmp_path / "set"), "--count", "2", "--config", str(toml), "--split", "all"]) == 0
    assert "'left_out_listed': 1" in capsys.readouterr().out
    assert synth_main(["--out", str(tmp_path / "set2"), "--count", "2", "--config", str(toml), "--split", "all", "--exclude"]) == 0
    assert "'left_out_listed': 0" in capsys.readouterr().out  # an explicit (empty) --exclude wins
    out = tmp_path / "run"
    cfg = Path(_config(tmp_path, out, 10))
    cfg.write_text(cfg.read_text().replace("[data]", f'[data]\nexclude = ["{tmp_path / "missing.txt"}"]'))
    with pytest.raises(SystemExit):
        train_main(["--config", str(cfg)])
    assert "missing.txt" in capsys.readouterr().err and not out.exists()
    # The exported card names the photos left out, not only the list's path.
    cfg = Path(_config(tmp_path, out, 2))
    cfg.write_text(cfg.read_text().replace("[data]", f'[data]\nphotos = ["{(tmp_path / "photos").as_posix()}"]\n'
                                                     f'exclude = ["{listing.as_posix()}"]'))
    assert train_main(["--config", str(cfg), "--export", str(tmp_path / "w.pt")]) == 0
    card = json.loads((tmp_path / "w.json").read_text())
    assert card["training"]["excluded_photos"] == ["b.png"]
    assert card["training"]["data_sources"]["exclude"] == [listing.as_posix()]
    # A list gone by export time is a one-line error, and nothing is written.
    from trainer.export import main as export_main

    listing.unlink()
    with pytest.raises(SystemExit):
        export_main(["--checkpoint", str(out / "last.pt"), "--out", str(tmp_path / "w2.pt")])
    assert "blurry.txt" in capsys.readouterr().err and not (tmp_path / "w2.pt").exists()


def test_screen_lists_photos_the_detector_finds_blurred(tmp_path, capsys):
    rng = np.random.default_rng(3)
    sharp = dead_leaves(192, rng)
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "sharp.png"), sharp)
    cv2.imwrite(str(tmp_path / "photos" / "soft.png"), cv2.GaussianBlur(sharp, (0, 0), 4))
    out = tmp_path / "list.txt"
    assert screen_main([str(tmp_path / "photos"), "--out", str(out)]) == 0
    assert read_exclusion_list(out) == {"soft.png"}
    with pytest.raises(SystemExit):  # never overwrites
        screen_main([str(tmp_path / "photos"), "--out", str(out)])
    assert "exists" in capsys.readouterr().err
    for bad in (["--out", str(tmp_path / "no" / "list.txt")], ["--weights", "nosuch"]):
        with pytest.raises(SystemExit):
            screen_main([str(tmp_path / "photos"), *bad])
    err = capsys.readouterr().err
    assert "is not a folder" in err and "nosuch" in err and not (tmp_path / "no").exists()


def test_synth_writer_outputs_labels_and_contact_sheet(tmp_path):
    assert synth_main(["--out", str(tmp_path / "set"), "--count", "3", "--size", "48"]) == 0
    gts = sorted((tmp_path / "set" / "gt").glob("*.png"))
    assert len(gts) == 3 and len(list((tmp_path / "set" / "image").glob("*.png"))) == 3
    for g in gts:
        assert set(np.unique(cv2.imread(str(g), cv2.IMREAD_GRAYSCALE))) <= {0, 100, 200}
    assert cv2.imread(str(tmp_path / "set" / "contact_sheet.png")) is not None
    # The written set reads back through the 'synth' layout.
    samples = load_labelled_folder(tmp_path / "set", "synth")
    assert len(samples) == 3 and samples[0][1].shape == (48, 48, 3)


def test_synth_writer_refuses_a_folder_that_holds_files(tmp_path, capsys):
    keep = tmp_path / "mine" / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("keep me")
    with pytest.raises(SystemExit):
        synth_main(["--out", str(keep.parent), "--count", "2", "--size", "48"])
    assert "not an empty folder" in capsys.readouterr().err
    assert keep.read_text() == "keep me" and sorted(p.name for p in keep.parent.iterdir()) == ["notes.txt"]


def test_synth_writer_defaults_write_the_training_validation_set(tmp_path):
    # docs/training.md reproduces the validation set on disk this way; it must be the trainer's, exactly.
    assert synth_main(["--out", str(tmp_path / "val"), "--count", "4", "--size", "48"]) == 0
    written = load_labelled_folder(tmp_path / "val", "synth")
    expected = make_val_set({}, SynthConfig(size=48), 4)
    for (_, img, lab), (want_img, want_lab) in zip(written, expected):
        np.testing.assert_array_equal(img, want_img)
        np.testing.assert_array_equal(lab, want_lab)

    # --config: that run's generator settings and validation size.
    toml = tmp_path / "run.toml"
    toml.write_text("[data]\nval_size = 40\n\n[synth]\np_object_defocus = 0.0\np_sharp = 0.5\n")
    assert synth_main(["--out", str(tmp_path / "val2"), "--count", "4", "--config", str(toml)]) == 0
    written = load_labelled_folder(tmp_path / "val2", "synth")
    expected = make_val_set({}, synth_config({"p_object_defocus": 0.0, "p_sharp": 0.5}, 40), 4)
    for (_, img, lab), (want_img, want_lab) in zip(written, expected):
        np.testing.assert_array_equal(img, want_img)
        np.testing.assert_array_equal(lab, want_lab)
    toml.write_text("[synth]\np_sharpp = 0.5\n")
    with pytest.raises(SystemExit):
        synth_main(["--out", str(tmp_path / "val3"), "--count", "4", "--config", str(toml)])
    assert not (tmp_path / "val3").exists()


# --- real data layouts ----------------------------------------------------------------------

def _write_pair(root: Path, name: str, gt: np.ndarray) -> None:
    (root / "image").mkdir(parents=True, exist_ok=True)
    (root / "gt").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "image" / f"{name}.jpg"), np.full(gt.shape + (3,), 128, np.uint8))
    cv2.imwrite(str(root / "gt" / f"{name}.png"), gt)


def test_layout_conventions(tmp_path):
    half = np.zeros((8, 8), np.uint8)
    half[:, 4:] = 255
    _write_pair(tmp_path / "cuhk", "motion0001", half)
    _write_pair(tmp_path / "cuhk", "out_of_focus0001", half)
    _write_pair(tmp_path / "dut", "0001", half)
    kim = np.zeros((8, 8), np.uint8)
    kim[:, 3:6] = 100
    kim[:, 6:] = 200
    _write_pair(tmp_path / "kim", "0001", kim)

    cuhk = {n: lab for n, _, lab in load_labelled_folder(tmp_path / "cuhk", "cuhk")}
    assert (cuhk["motion0001"][:, 4:] == 1).all() and (cuhk["motion0001"][:, :4] == 0).all()
    assert (cuhk["out_of_focus0001"][:, 4:] == 2).all()
    (_, _, dut), = load_labelled_folder(tmp_path / "dut", "dut")
    assert (dut[:, 4:] == 0).all() and (dut[:, :4] == 2).all()  # DUT-DBD: 255 = sharp
    (_, _, k), = load_labelled_folder(tmp_path / "kim", "kim")
    assert (k[:, :3] == 0).all() and (k[:, 3:6] == 1).all() and (k[:, 6:] == 2).all()
    assert labels_from_gt(half, "cuhk", "unknown_type")[0, 7] == 255
    with pytest.raises(FileNotFoundError):
        load_labelled_folder(tmp_path / "missing", "kim")
    with pytest.raises(ValueError):
        labels_from_gt(half, "nope")


def test_evaluate_command(tmp_path, tiny_model_path, capsys):
    kim = np.zeros((40, 48), np.uint8)
    kim[:, 24:] = 200
    _write_pair(tmp_path / "kim", "0001", kim)
    _write_pair(tmp_path / "kim", "0002", kim[:, ::-1])
    for name in ("0001", "0002"):  # texture, so that the map depends on the working scales
        noise = np.random.default_rng(int(name)).integers(0, 256, (40, 48, 3), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / "kim" / "image" / f"{name}.jpg"), noise)
    args = ["--weights", str(tiny_model_path), "--data", str(tmp_path / "kim"), "--layout", "kim", "--device", "cpu"]
    assert evaluate_main(args + ["--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["images"] == 2 and 0.0 <= one["miou"] <= 1.0 and set(one["iou"]) == {"sharp", "motion", "defocus"}
    assert evaluate_main(args + ["--json", "--scales", "1,0.5"]) == 0
    assert json.loads(capsys.readouterr().out)["mae"] != one["mae"]  # the extra scale changed the map
    assert evaluate_main(args + ["--scales", "2"]) == 2
    assert "working scales" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate_main(args + ["--scales", "big"])
    assert evaluate_main([*args[:3], str(tmp_path / "nothere"), *args[4:]]) == 2
    assert "nothere" in capsys.readouterr().err
    assert evaluate_main(["--weights", str(tmp_path / "none.pt"), *args[2:]]) == 2
    assert "none.pt does not exist" in capsys.readouterr().err


# --- metrics --------------------------------------------------------------------------------

def _onehot(labels: np.ndarray) -> np.ndarray:
    return np.stack([(labels == c) for c in range(3)]).astype(np.float32)


def test_metrics_perfect_prediction():
    lab = np.array([[0, 1], [2, 2]], np.uint8)
    m = BlurMetrics()
    m.update(_onehot(lab), lab)
    r = m.compute()
    assert r["pixel_accuracy"] == 1.0 and r["miou"] == 1.0
    assert r["f_measure"] == pytest.approx(1.0) and r["mae"] == 0.0 and r["binary_miou"] == 1.0


def test_metrics_known_mistakes():
    lab = np.array([[0, 0, 1, 2]], np.uint8)
    pred = np.array([[0, 1, 1, 1]], np.uint8)  # one sharp pixel called motion, one defocus called motion
    m = BlurMetrics()
    m.update(_onehot(pred), lab)
    r = m.compute()
    assert r["pixel_accuracy"] == pytest.approx(0.5)
    assert r["iou"]["sharp"] == pytest.approx(0.5)  # 1 / (2 + 1 - 1)
    assert r["iou"]["motion"] == pytest.approx(1 / 3)
    assert r["iou"]["defocus"] == pytest.approx(0.0)
    assert r["miou"] == pytest.approx((0.5 + 1 / 3 + 0) / 3)
    # Binary: truth [S, S, B, B], prediction [S, B, B, B]
    assert r["mae"] == pytest.approx(0.25)
    assert r["binary_miou"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    # Unknown-type blur counts only in the binary metrics.
    m2 = BlurMetrics()
    m2.update(_onehot(np.array([[2, 0]], np.uint8)), np.array([[255, 0]], np.uint8))
    r2 = m2.compute()
    assert r2["pixel_accuracy"] == 1.0 and r2["binary_miou"] == 1.0


# --- training -------------------------------------------------------------------------------

TINY_TOML = """
[model]
config = {{ enc_widths = [4, 8, 8, 8, 8], enc_depths = [1, 1, 1, 1, 1], dec_widths = [8, 8, 8, 8], dec_depths = [1, 1, 1, 1] }}
[data]
crop = 32
val_size = 32
val_count = 4
[train]
out = "{out}"
seed = 0
steps = {steps}
batch = 4
lr = 1e-2
warmup = 2
log_every = 5
val_every = 1000
ckpt_every = 5
workers = 0
[export]
working_max_side = 320
working_scales = [1.0, 0.5]
"""


def test_schedule_warms_up_decays_and_restarts():
    # One cycle: warm-up to the peak, cosine down to 1 %.
    assert lr_factor(0, 10, 100) == pytest.approx(0.1)
    assert lr_factor(10, 10, 100) == pytest.approx(1.0)
    assert lr_factor(99, 10, 100) == pytest.approx(0.01, abs=1e-3)
    # A restart at 60 leaves the first cycle as a run of 60 steps would have it, then starts again lower.
    for step in (0, 5, 30, 59):
        assert lr_factor(step, 10, 100, [60], 0.5) == pytest.approx(lr_factor(step, 10, 60))
    assert lr_factor(60, 10, 100, [60], 0.5) == pytest.approx(0.5)
    assert lr_factor(99, 10, 100, [60], 0.5) == pytest.approx(0.005, abs=1e-3)


def _config(tmp_path: Path, out: Path, steps: int) -> str:
    p = tmp_path / f"tiny_{out.name}_{steps}.toml"
    p.write_text(TINY_TOML.format(out=out.as_posix(), steps=steps))
    return str(p)


def test_smoke_training_lowers_loss_and_resumes_exactly(tmp_path):
    straight = tmp_path / "straight"
    assert train_main(["--config", _config(tmp_path, straight, 40), "--export", str(tmp_path / "w.pt")]) == 0
    rows = (straight / "log.csv").read_text().strip().splitlines()[1:]
    losses = [float(r.split(",")[1]) for r in rows if r.split(",")[1]]
    assert len(losses) == 8
    assert np.mean(losses[-2:]) < np.mean(losses[:2])

    # Stop at step 20, resume to 40: the same weights as the straight run at step 40.
    split = tmp_path / "split"
    split_cfg = _config(tmp_path, split, 40)
    assert train_main(["--config", split_cfg, "--stop-at", "20"]) == 0
    assert torch.load(split / "last.pt", weights_only=False)["step"] == 20
    assert train_main(["--config", split_cfg, "--resume"]) == 0
    a = torch.load(straight / "last.pt", weights_only=False)
    b = torch.load(split / "last.pt", weights_only=False)
    assert a["step"] == b["step"] == 40
    for k in a["model"]:
        assert torch.allclose(a["model"][k], b["model"][k], atol=1e-6), k

    # The exported weights load through the engine's verified loader.
    model, card = load_model(tmp_path / "w.pt")
    assert card["training"]["steps"] == 40
    assert card["working_max_side"] == 320 and card["working_scales"] == [1.0, 0.5]
    assert card["training"]["command"] == f"python -m trainer.train --config {_config(tmp_path, straight, 40)}"
    assert 0.0 <= card["metrics"]["synthetic_val"]["miou"] <= 1.0


def test_a_later_stage_starts_from_exported_weights(tmp_path):
    first = tmp_path / "first"
    assert train_main(["--config", _config(tmp_path, first, 40), "--export", str(tmp_path / "stage1.pt")]) == 0
    _, stage1 = load_model(tmp_path / "stage1.pt")

    cfg = Path(_config(tmp_path, tmp_path / "second", 10))
    # At a learning rate of 0 the second stage keeps exactly the weights it starts from.
    text = cfg.read_text().replace("[model]\n", f'[model]\ninit = "{(tmp_path / "stage1.pt").as_posix()}"\n')
    cfg.write_text(text.replace("lr = 1e-2", "lr = 0.0"))
    # --resume with no checkpoint yet is a new run, and still starts from the init weights.
    assert train_main(["--config", str(cfg), "--resume", "--export", str(tmp_path / "stage2.pt")]) == 0
    _, stage2 = load_model(tmp_path / "stage2.pt")
    init = stage2["training"]["init"]
    assert init["sha256"] == stage1["sha256"] and init["steps"] == 40
    # It continues from where the first stage ended, not from random weights.
    a = torch.load(tmp_path / "stage1.pt", weights_only=False)
    b = torch.load(tmp_path / "stage2.pt", weights_only=False)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_later_stage_can_add_context_pooling(tmp_path):
    first = tmp_path / "first"
    assert train_main(["--config", _config(tmp_path, first, 10), "--export", str(tmp_path / "stage1.pt")]) == 0
    cfg = Path(_config(tmp_path, tmp_path / "second", 10))
    text = cfg.read_text().replace("[model]\n", f'[model]\ncontext_bins = [1, 2]\ninit = "{(tmp_path / "stage1.pt").as_posix()}"\n')
    cfg.write_text(text)
    assert train_main(["--config", str(cfg), "--export", str(tmp_path / "stage2.pt")]) == 0
    plain, _ = load_model(tmp_path / "stage1.pt")
    ctx, card = load_model(tmp_path / "stage2.pt")
    assert ctx.config.context_bins == (1, 2) and card["architecture"]["context_bins"] == [1, 2]
    assert card["training"]["init"]["weights"] == (tmp_path / "stage1.pt").as_posix()
    # The shared layers started from stage 1 and were trained on; the pooling branch learnt from zero.
    assert not torch.equal(ctx.context.fuse.weight, torch.zeros_like(ctx.context.fuse.weight))
    # With encoder_lr_mult = 0 the encoder stays exactly as the init weights left it.
    frozen_cfg = tmp_path / "frozen.toml"
    frozen_cfg.write_text(text.replace("second", "frozen").replace("[train]\n", "[train]\nencoder_lr_mult = 0.0\n"))
    assert train_main(["--config", str(frozen_cfg), "--export", str(tmp_path / "frozen.pt")]) == 0
    frozen, _ = load_model(tmp_path / "frozen.pt")
    assert all(torch.equal(a, b) for a, b in zip(frozen.encoder.parameters(), plain.encoder.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(frozen.decoder.parameters(), plain.decoder.parameters()))
    # A bad context setting is refused before the run folder is made.
    cfg.write_text(text.replace("context_bins = [1, 2]", "context_bins = [0]").replace("second", "third"))
    with pytest.raises(SystemExit):
        train_main(["--config", str(cfg)])
    assert not (tmp_path / "third").exists()
    # Weights with context pooling cannot start a plain model.
    with pytest.raises(ValueError, match="different architecture"):
        init_from_weights(plain, str(tmp_path / "stage2.pt"))


def test_a_later_stage_can_grow_deeper_stacks(tmp_path):
    from dataclasses import replace

    from blurstudio.model import BlurNetConfig
    from trainer.start import grown_layers

    assert train_main(["--config", _config(tmp_path, tmp_path / "first", 10), "--export", str(tmp_path / "stage1.pt")]) == 0
    small, _ = load_model(tmp_path / "stage1.pt")
    small = small.float().eval()
    deeper = 'enc_depths = [1, 1, 1, 2, 3]\ndec_depths = [2, 1, 1, 1]\ninit = "' + (tmp_path / "stage1.pt").as_posix() + '"\n'
    cfg = Path(_config(tmp_path, tmp_path / "second", 10))
    text = cfg.read_text().replace("[model]\n", "[model]\n" + deeper)
    # The added convs start as the identity: before training the grown network computes what stage 1 did.
    grown = model_from_config(tomllib.loads(text)["model"])
    added = init_from_weights(grown, str(tmp_path / "stage1.pt"))["new_parameters"]
    assert added == sorted(f"{n}.{p}" for n in ("encoder.3.2", "encoder.4.2", "encoder.4.4", "decoder.0.2")
                           for p in ("bias", "weight"))
    x = normalise(torch.rand(2, 3, 32, 48))
    with torch.no_grad():
        for a, b in zip(small(x), grown.eval()(x)):
            assert torch.allclose(a, b, atol=1e-5)
    # Trained with the inherited encoder frozen, only the new encoder layers move in the encoder.
    cfg.write_text(text.replace("[train]\n", "[train]\nencoder_lr_mult = 0.0\n"))
    assert train_main(["--config", str(cfg), "--export", str(tmp_path / "stage2.pt")]) == 0
    trained, card = load_model(tmp_path / "stage2.pt")
    # Resumed halfway, the new layers keep their learning rate: the same weights as the straight run.
    cfg.write_text(cfg.read_text().replace("second", "split"))
    assert train_main(["--config", str(cfg), "--stop-at", "5"]) == 0
    assert train_main(["--config", str(cfg), "--resume"]) == 0
    split = torch.load(tmp_path / "split" / "last.pt", weights_only=False)["model"]
    straight = torch.load(tmp_path / "second" / "last.pt", weights_only=False)["model"]
    assert all(torch.allclose(split[k], straight[k], atol=1e-6) for k in straight)
    assert card["architecture"]["enc_depths"] == [1, 1, 1, 2, 3] and card["architecture"]["dec_depths"] == [2, 1, 1, 1]
    before, fresh, after = small.state_dict(), grown.state_dict(), trained.float().state_dict()
    for name in after:
        if name.startswith("encoder."):
            assert torch.equal(before[name], after[name]) if name in before else not torch.equal(fresh[name], after[name]), name
    # Only deeper stacks of the same widths grow; shallower or wider ones are a different architecture.
    base = BlurNetConfig(enc_widths=(4, 8, 8, 8, 8), enc_depths=(1, 1, 1, 1, 1), dec_widths=(8, 8, 8, 8), dec_depths=(1, 1, 1, 1))
    assert grown_layers(base, replace(base, dec_depths=(1, 1, 1, 3))) == ["decoder.3.2", "decoder.3.4"]
    assert grown_layers(base, replace(base, dec_depths=(1, 1, 1, 0))) is None
    assert grown_layers(base, replace(base, enc_depths=(1, 1, 1, 1, 2), context_bins=(1, 2))) == ["encoder.4.2"]
    assert grown_layers(replace(base, context_bins=(1, 2)), replace(base, context_bins=(1, 3))) is None
    assert grown_layers(base, replace(base, enc_widths=(4, 8, 8, 8, 16))) is None
    with pytest.raises(ValueError, match="different architecture"):
        init_from_weights(small, str(tmp_path / "stage2.pt"))


def test_export_members_writes_an_ensemble_that_the_detector_loads(tmp_path, capsys):
    from blurstudio.detect import Detector
    from blurstudio.model import BlurNetEnsemble
    from trainer.export import main as export_main

    for name, bins in (("a", ""), ("b", "context_bins = [1, 2]\n")):
        cfg = Path(_config(tmp_path, tmp_path / name, 5))
        cfg.write_text(cfg.read_text().replace("[model]\n", "[model]\n" + bins))
        assert train_main(["--config", str(cfg), "--export", str(tmp_path / f"{name}.pt")]) == 0
    a, b, out = tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "ens" / "e.pt"
    assert export_main(["--members", str(a), str(b), "--out", str(out)]) == 0
    assert "ensemble of 2" in capsys.readouterr().out
    ens, card = load_model(out)
    assert isinstance(ens, BlurNetEnsemble) and len(ens.members) == 2
    _, card_a = load_model(a)
    _, card_b = load_model(b)
    members = card["training"]["members"]
    assert [m["sha256"] for m in members] == [card_a["sha256"], card_b["sha256"]]
    assert members[1]["config"] == card_b["training"]["config"] and members[0]["steps"] == 5
    assert card["training"]["command"] == f"python -m trainer.export --members {a} {b} --out {out}"
    assert card["working_scales"] == [1.0, 0.5] and 0.0 <= card["metrics"]["synthetic_val"]["miou"] <= 1.0
    assert Detector(out, device="cpu").max_side == 320
    # An ensemble cannot start a training stage, nor be a member.
    with pytest.raises(ValueError, match="is an ensemble"):
        init_from_weights(ens.members[0], str(out))
    for argv, match in [
        (["--members", str(a), "--out", str(tmp_path / "one.pt")], "at least 2"),
        (["--members", str(a), str(out), "--out", str(tmp_path / "x.pt")], "ensemble already"),
        (["--members", str(a), str(b), "--out", str(a)], "is one of the members"),
        (["--members", str(a), str(tmp_path / "no.pt"), "--out", str(tmp_path / "x.pt")], "does not exist"),
        (["--members", str(a), str(b), "--out", str(tmp_path / "x.onnx")], "must be a .pt"),
    ]:
        with pytest.raises(SystemExit):
            export_main(argv)
        assert match in capsys.readouterr().err, argv
    # Members the detector would have to run with different settings are refused.
    card_b["working_max_side"] = 640
    b.with_suffix(".json").write_text(json.dumps(card_b))
    with pytest.raises(SystemExit):
        export_main(["--members", str(a), str(b), "--out", str(tmp_path / "x.pt")])
    assert "disagree on working_max_side" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "one.pt").exists()


def test_distillation_learns_the_teachers_probabilities(tmp_path, capsys):
    from trainer.train import distill_loss

    # The loss is smallest where the student's probabilities are the teacher's.
    t = [torch.randn(2, 3, 4, 4) for _ in range(4)]
    s = [x.clone().requires_grad_(True) for x in t]
    distill_loss(s, t, [1.0] * 4).backward()
    assert all(x.grad.abs().max() < 1e-6 for x in s)
    assert distill_loss([x + torch.randn_like(x) for x in t], t, [1.0] * 4) > distill_loss(t, t, [1.0] * 4)

    # A student taught only by the teacher (distill = 1) ends closer to it than one taught by the labels.
    assert train_main(["--config", _config(tmp_path, tmp_path / "teacher", 40), "--export", str(tmp_path / "t.pt")]) == 0
    students = {}
    for name, extra in (("labels", ""), ("taught", f'teacher = "{(tmp_path / "t.pt").as_posix()}"\ndistill = 1.0\n')):
        cfg = Path(_config(tmp_path, tmp_path / name, 20))
        cfg.write_text(cfg.read_text().replace("seed = 0\n", "seed = 1\n" + extra))
        assert train_main(["--config", str(cfg), "--export", str(tmp_path / f"{name}.pt")]) == 0
        students[name] = load_model(tmp_path / f"{name}.pt")
    teacher, teacher_card = load_model(tmp_path / "t.pt")
    images = torch.stack([torch.from_numpy(img).permute(2, 0, 1).float() / 255
                          for img, _ in make_val_set({}, synth_config({}, 32), 8)])

    def gap(model) -> float:
        with torch.no_grad():
            x = normalise(images)
            return (torch.softmax(model.float()(x)[-1], 1) - torch.softmax(teacher.float()(x)[-1], 1)).abs().mean().item()

    assert gap(students["taught"][0]) < 0.75 * gap(students["labels"][0])
    record = students["taught"][1]["training"]["teacher"]
    assert record["sha256"] == teacher_card["sha256"] and record["weights"] == (tmp_path / "t.pt").as_posix()
    assert students["labels"][1]["training"]["teacher"] is None

    # Bad settings are refused before the run folder is made.
    for name, extra, match in (("a", "distill = 0.5\n", "needs a teacher"),
                               ("b", 'teacher = "nowhere.pt"\ndistill = 0.5\n', "does not exist"),
                               ("c", f'teacher = "{(tmp_path / "t.pt").as_posix()}"\ndistill = 1.5\n', "from 0 to 1"),
                               ("d", f'teacher = "{(tmp_path / "t.pt").as_posix()}"\n', "distill is 0"),
                               ("e", f'teacher = "{_config(tmp_path, tmp_path / "x", 5)}"\ndistill = 0.5\n', "train.teacher")):
        cfg = Path(_config(tmp_path, tmp_path / name, 5))
        cfg.write_text(cfg.read_text().replace("seed = 0\n", "seed = 0\n" + extra))
        with pytest.raises(SystemExit) as exit_:
            train_main(["--config", str(cfg)])
        assert match in capsys.readouterr().err + str(exit_.value.code), name  # argparse or SystemExit(message)
        assert not (tmp_path / name).exists()


def test_init_weights_must_exist_and_fit_the_model(tmp_path, tiny_model_path):
    from blurstudio.model import build_model

    with pytest.raises(ValueError, match="does not exist"):
        init_from_weights(build_model("compact"), str(tmp_path / "missing.pt"))
    with pytest.raises(ValueError, match="different architecture"):
        init_from_weights(build_model("compact"), str(tiny_model_path))


def test_bundled_weights_record_the_shipped_recipe():
    # `python -m trainer.recipe compact` reproduces the bundled weights only if the card records the shipped configs.
    from trainer.export import WORKING_KEYS
    from trainer.recipe import RECIPES

    root = Path(__file__).resolve().parents[1]
    card = json.loads((root / "resources" / "weights" / "compact.json").read_text())
    names = ("compact_stage1", "compact_stage2", "compact_stage3", "compact_stage4", "compact_stage5", "compact_stage6")
    stages = []
    for name in names:
        with open(root / "trainer" / "configs" / f"{name}.toml", "rb") as f:
            stages.append(tomllib.load(f))
    # Each stage starts from the previous stage's export.
    for earlier, later in zip(stages, stages[1:]):
        assert later["model"]["init"] == earlier["export"]["path"]
    # The bundled weights are the recipe's last step: stage 6 says where the blur is, stage 5 which.
    last = RECIPES["compact"][-1]
    assert card["architecture"]["combine"] == "split" and last.combine == "split"
    assert list(last.members) == [stages[5]["export"]["path"], stages[4]["export"]["path"]]
    assert card["training"]["command"] == (f"python -m trainer.export --members {' '.join(last.members)} "
                                           f"--combine split --out {last.out}")
    for record, name, stage in zip(card["training"]["members"], names[5:3:-1], stages[5:3:-1]):
        assert record["command"] == f"python -m trainer.train --config trainer/configs/{name}.toml"
        for section in ("model", "data", "synth", "train"):
            assert record["config"].get(section) == stage.get(section), (name, section)
        for key in WORKING_KEYS:
            assert card[key] == stage["export"][key], key
        assert record["init"]["weights"] == record["teacher"]["weights"] == stage["model"]["init"]
        assert record["data_sources"]["exclude"] == ["trainer/configs/blurry_photos.txt"]
        # The list has not changed since: a photo added to or taken off it calls for new stages.
        assert record["excluded_photos"] == sorted(read_exclusion_list(root / "trainer" / "configs" / "blurry_photos.txt"))
    # Stage 6 mixed in the real photos, stage 5 did not.
    assert card["training"]["members"][0]["real_per_batch"] == stages[5]["data"]["real_per_batch"] > 0
    # ... stage 4 was taught by the average of stages 2 and 3, exported where its config's comment says.
    comment = (root / "trainer" / "configs" / "compact_stage4.toml").read_text()
    members = (f"--members {stages[1]['export']['path']} \\\n#       {stages[2]['export']['path']} "
               f"--out {stages[3]['train']['teacher']}")
    assert members in comment


def test_readme_quotes_the_bundled_cards_validation_figures():
    # docs/training.md's table says what a rerun should reach; its "bundled" row must be the card's.
    root = Path(__file__).resolve().parents[1]
    metrics = json.loads((root / "resources" / "weights" / "compact.json").read_text())["metrics"]["synthetic_val"]
    row = next(line for line in (root / "docs" / "training.md").read_text().splitlines() if line.startswith("| **bundled**"))
    cells = [c.strip().strip("*") for c in row.strip("|").split("|")]
    assert cells[2:4] == [f"{metrics['pixel_accuracy']:.3f}", f"{metrics['miou']:.3f}"]
    assert cells[4] == " / ".join(f"{metrics['iou'][k]:.3f}" for k in ("sharp", "motion", "defocus"))
    assert cells[5:8] == [f"{metrics[k]:.3f}" for k in ("binary_miou", "f_measure", "mae")]


def test_mirrored_teacher_averages_the_image_and_its_mirror():
    from trainer.train import teacher_outputs

    torch.manual_seed(0)
    teacher = model_from_config(json.loads('{"config": {"enc_widths": [4, 8, 8, 8, 8], "enc_depths": [1, 1, 1, 1, 1], '
                                           '"dec_widths": [8, 8, 8, 8], "dec_depths": [1, 1, 1, 1]}}')).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        plain = teacher(x)
        assert all(torch.equal(a, b) for a, b in zip(teacher_outputs(teacher, x, False), plain))
        mirrored = teacher_outputs(teacher, x, True)
        for m, a, b in zip(mirrored, plain, teacher(x.flip(-1))):
            expected = (torch.softmax(a, 1) + torch.softmax(b, 1).flip(-1)) / 2
            assert torch.allclose(torch.softmax(m, 1), expected, atol=1e-6)
        # The mirrored teacher is mirror-symmetric: the mirror image gets the mirrored map.
        for m, f in zip(mirrored, teacher_outputs(teacher, x.flip(-1), True)):
            assert torch.allclose(m, f.flip(-1), atol=1e-5)
        assert not torch.allclose(plain[-1], teacher(x.flip(-1))[-1].flip(-1), atol=1e-3)  # the net itself is not


def test_weight_averaging_is_validated_exported_and_resumed(tmp_path, capsys):
    from trainer.train import update_ema

    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    mid = (a.weight + b.weight).detach() / 2
    update_ema(a, b, 0.5)
    assert torch.allclose(a.weight, mid)

    def ema_config(out: Path, steps: int, extra: str = "ema = 0.9\n") -> str:
        cfg = Path(_config(tmp_path, out, steps))
        cfg.write_text(cfg.read_text().replace("seed = 0\n", "seed = 0\n" + extra))
        return str(cfg)

    straight = tmp_path / "straight"
    assert train_main(["--config", ema_config(straight, 20), "--export", str(tmp_path / "w.pt")]) == 0
    ck = torch.load(straight / "last.pt", weights_only=False)
    assert any(not torch.allclose(ck["ema"][k], ck["model"][k]) for k in ck["model"])
    # The export holds the averaged weights, not the last step's.
    exported, _ = load_model(tmp_path / "w.pt")
    state = exported.state_dict()
    assert all(torch.allclose(state[k].float(), ck["ema"][k].half().float()) for k in state)
    # Stopped and resumed, the average is the straight run's.
    split = tmp_path / "split"
    cfg = ema_config(split, 20)
    assert train_main(["--config", cfg, "--stop-at", "10"]) == 0
    assert train_main(["--config", cfg, "--resume"]) == 0
    ck2 = torch.load(split / "last.pt", weights_only=False)
    assert all(torch.allclose(ck["ema"][k], ck2["ema"][k], atol=1e-6) for k in ck["ema"])

    for name, extra, match in (("a", "ema = 1.0\n", "ema is a decay"), ("b", "ema = true\n", "ema is a decay"),
                               ("c", "teacher_flip = true\n", "teacher_flip needs a teacher")):
        with pytest.raises(SystemExit):
            train_main(["--config", ema_config(tmp_path / name, 5, extra)])
        assert match in capsys.readouterr().err, name
        assert not (tmp_path / name).exists()


def test_weight_averaging_added_on_resume_starts_at_the_resumed_weights(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = Path(_config(tmp_path, out, 20))
    assert train_main(["--config", str(cfg), "--stop-at", "10"]) == 0
    cfg.write_text(cfg.read_text().replace("seed = 0\n", "seed = 0\nema = 0.9\n"))
    assert train_main(["--config", str(cfg), "--resume"]) == 0
    assert "starts at the resumed weights" in capsys.readouterr().out
    assert torch.load(out / "last.pt", weights_only=False)["ema"] is not None
