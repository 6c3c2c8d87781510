"""Matting selection (blurstudio.edit.selection) and `blurstudio select`.

The scenes are composites with a known object mask: a sharp, textured, warm object pasted over a
defocused, cool background. The "network" blur map is the true mask dilated or eroded by a few pixels
and blurred, as a real network's map is offset and soft along object edges.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from blurstudio.blurmap import BlurMap
from blurstudio.cli import main
from blurstudio.edit import matte as Mt
from blurstudio.edit import scribbles as Sc
from blurstudio.edit import selection as S


def make_scene(h: int = 180, w: int = 240, shift: int = 4, sigma: float = 3.0, seed: int = 0):
    """(photo uint8, true mask bool, BlurMap imitating the network)."""
    rng = np.random.default_rng(seed)
    big = np.zeros((h * 4, w * 4), np.uint8)  # drawn at 4x and area-averaged: anti-aliased edges
    cv2.ellipse(big, (w * 2, h * 2), (w, h * 4 // 3), 20, 0, 360, 255, -1)
    tip = np.array([[w * 2, h // 3], [w * 2 + w * 2 // 5, h * 2], [w * 2 - w * 2 // 5, h * 2]], np.int32)
    cv2.fillPoly(big, [tip], 255)
    cv2.rectangle(big, (w // 2, h * 5 // 2), (w * 7 // 2, h * 5 // 2 + 20), 255, -1)  # a 5-pixel bar
    soft = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mask = soft >= 0.5
    lum = cv2.resize(rng.random((h // 2, w // 2)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    obj = np.clip(np.array([0.9, 0.6, 0.3], np.float32) * (0.5 + 0.5 * lum[..., None]), 0, 1)
    smooth = cv2.resize(rng.random((h // 16 + 1, w // 16 + 1, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    bg = cv2.GaussianBlur(np.clip(np.array([0.2, 0.4, 0.55], np.float32) + 0.25 * (smooth - 0.5), 0, 1), (0, 0), 4)
    photo = np.clip((soft[..., None] * obj + (1 - soft[..., None]) * bg) * 255 + 0.5, 0, 255).astype(np.uint8)
    kernel = np.ones((2 * abs(shift) + 1,) * 2, np.uint8)
    m8 = mask.astype(np.uint8)
    rough = cv2.dilate(m8, kernel) if shift > 0 else cv2.erode(m8, kernel) if shift < 0 else m8
    p_sharp = np.clip(cv2.GaussianBlur(rough.astype(np.float32), (0, 0), sigma), 0, 1)
    probs = np.stack([p_sharp, np.zeros_like(p_sharp), 1.0 - p_sharp])
    return photo, mask, BlurMap(probs)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def edge_error(alpha: np.ndarray, mask: np.ndarray, width: int = 6) -> float:
    """Mean |alpha - mask| within `width` pixels of the true object edge."""
    m8 = mask.astype(np.uint8)
    kernel = np.ones((2 * width + 1,) * 2, np.uint8)
    band = cv2.dilate(m8, kernel) != cv2.erode(m8, kernel)
    return float(np.abs(alpha[band] - mask[band]).mean())


# --- accuracy on composites --------------------------------------------------------------


@pytest.mark.parametrize("shift", [3, -3])
def test_matte_selects_the_object_and_beats_the_blur_map_along_edges(shift):
    photo, mask, blurmap = make_scene(shift=shift)
    sel = S.select(photo, blurmap, "sharp")
    assert sel.alpha.shape == mask.shape and sel.alpha.dtype == np.float32
    assert sel.message == ""
    thresholded = blurmap.probs[0] >= 0.5
    assert iou(sel.alpha > 0.5, mask) >= 0.9
    err_matte, err_map = edge_error(sel.alpha, mask), edge_error(thresholded.astype(np.float32), mask)
    # Measured: the matte's edge error is ~0.1, the thresholded map's ~0.45 (a 4-pixel offset).
    assert err_matte < 0.5 * err_map, (err_matte, err_map)
    assert iou(sel.alpha > 0.5, mask) > iou(thresholded, mask)


def test_reduced_working_scale_with_guided_upsampling():
    photo, mask, blurmap = make_scene(360, 480, shift=6, sigma=5, seed=1)
    sel = S.select(photo, blurmap, "sharp", working_pixels=50_000)
    assert sel.scale < 0.6
    assert sel.trimap.shape[0] < 360 and sel.alpha.shape == (360, 480)
    thresholded = (blurmap.probs[0] >= 0.5).astype(np.float32)
    assert iou(sel.alpha > 0.5, mask) >= 0.9
    assert edge_error(sel.alpha, mask) < 0.5 * edge_error(thresholded, mask)
    assert set(np.unique(sel.alpha[:10, :10])) == {0.0}  # known background stays exactly 0


@pytest.mark.parametrize("target", ["defocus", "blurred"])
def test_blurred_targets_select_the_background(target):
    photo, mask, blurmap = make_scene(shift=-4)
    sel = S.select(photo, blurmap, target)
    assert iou(sel.alpha > 0.5, ~mask) >= 0.9


def test_motion_target_with_no_motion_selects_nothing():
    photo, _, blurmap = make_scene()
    sel = S.select(photo, blurmap, "motion")
    assert not sel.alpha.any()
    assert "nothing selected" in sel.message


@pytest.mark.parametrize("solver", sorted(S.SOLVERS))
def test_every_pymatting_solver_runs(solver):
    photo, mask, blurmap = make_scene(60, 80, shift=1, sigma=1.5)
    sel = S.select(photo, blurmap, "sharp", solver=solver)
    assert sel.message == ""
    assert np.isfinite(sel.alpha).all() and 0 <= sel.alpha.min() and sel.alpha.max() <= 1
    assert iou(sel.alpha > 0.5, mask) >= 0.8


# --- trimap ------------------------------------------------------------------------------


def test_trimap_band_specks_and_thin_parts():
    prob = np.zeros((100, 100), np.float32)
    cv2.circle(prob, (50, 50), 30, 1.0, -1)
    prob[47:53, 5:95] = 1.0  # a 6-pixel bar, thinner than the band
    prob[5:7, 5:7] = 1.0  # a speck
    prob[50, 50] = 0.0  # a pin hole
    trimap = S.make_trimap(prob, 0.5, radius=5, min_area=20)
    assert trimap[6, 6] == Sc.OUTSIDE  # speck removed
    assert trimap[50, 50] == Sc.INSIDE  # hole filled
    assert trimap[80, 50] == Sc.UNKNOWN  # on the disk's edge (y = 80)
    assert trimap[72, 50] == Sc.INSIDE and trimap[88, 50] == Sc.OUTSIDE  # 8 pixels either side
    assert (trimap[47:53, 90] == Sc.INSIDE).any()  # the bar's centre line stays known
    assert set(np.unique(trimap)) <= {Sc.OUTSIDE, Sc.UNKNOWN, Sc.INSIDE}


def test_unknown_band_scales_with_photo_size():
    fractions = []
    for h, w in ((120, 160), (240, 320)):
        photo, _, blurmap = make_scene(h, w)
        sel = S.select(photo, blurmap, "sharp", working_pixels=10**7)
        assert sel.scale == 1.0
        fractions.append(float((sel.trimap == Sc.UNKNOWN).mean()))
    # band width and edge length both grow with the side, so the band's share of the photo stays put
    assert fractions[1] == pytest.approx(fractions[0], rel=0.3)


@pytest.mark.parametrize("working_pixels", [S.WORKING_PIXELS, 5_000])
def test_edge_width_zero_gives_the_hard_blur_map_edge(working_pixels):
    photo, _, blurmap = make_scene()
    sel = S.select(photo, blurmap, "sharp", edge_width=0, working_pixels=working_pixels)
    assert set(np.unique(sel.alpha)) <= {0.0, 1.0}
    # at a reduced working scale the edge is interpolated, not blocks of working pixels
    assert iou(sel.alpha > 0.5, blurmap.probs[0] >= 0.5) >= 0.97


# --- scribbles ---------------------------------------------------------------------------


def test_scribbles_change_the_result_where_drawn():
    photo, mask, blurmap = make_scene(shift=0)
    base = S.select(photo, blurmap, "sharp").alpha
    scribbles = np.zeros(mask.shape, np.uint8)
    scribbles[85:95, 110:130] = Sc.SCRIBBLE_OUTSIDE  # inside the object
    scribbles[5:15, 5:25] = Sc.SCRIBBLE_INSIDE  # on the background
    alpha = S.select(photo, blurmap, "sharp", scribbles=scribbles).alpha
    assert base[85:95, 110:130].min() > 0.9 and alpha[85:95, 110:130].max() == 0.0
    assert base[5:15, 5:25].max() < 0.1 and alpha[5:15, 5:25].min() == 1.0
    far = np.ones(mask.shape, bool)
    far[60:120, 80:160] = False
    far[:40, :60] = False
    assert np.abs(alpha - base)[far].max() < 0.05  # strokes act locally


def test_unknown_scribble_lets_the_matting_fix_a_wrong_blur_map():
    photo, mask, blurmap = make_scene(shift=0)
    probs = blurmap.probs.copy()
    probs[0, 150:175, 10:40], probs[2, 150:175, 10:40] = 1.0, 0.0  # the "network" calls background sharp
    wrong = BlurMap(probs)
    assert not mask[150:175, 10:40].any()
    before = S.select(photo, wrong, "sharp").alpha[155:170, 15:35].mean()
    scribbles = np.zeros(mask.shape, np.uint8)
    scribbles[145:180, 5:45] = Sc.SCRIBBLE_UNKNOWN
    after = S.select(photo, wrong, "sharp", scribbles=scribbles).alpha[155:170, 15:35].mean()
    assert before > 0.9 and after < 0.1


def test_thin_strokes_survive_the_working_scale():
    photo, mask, blurmap = make_scene(360, 480, shift=0, seed=2)
    scribbles = np.zeros(mask.shape, np.uint8)
    scribbles[20, 20:200] = Sc.SCRIBBLE_INSIDE  # one pixel thick at full resolution
    sel = S.select(photo, blurmap, "sharp", scribbles=scribbles, working_pixels=30_000)
    assert sel.scale < 0.5
    assert (sel.alpha[20, 20:200] == 1.0).all()


def test_bad_scribbles_are_refused():
    photo, _, blurmap = make_scene(60, 80)
    with pytest.raises(ValueError, match="codes"):
        S.select(photo, blurmap, scribbles=np.full((60, 80), 7, np.uint8))
    with pytest.raises(ValueError, match="shape"):
        S.select(photo, blurmap, scribbles=np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="integer"):
        S.select(photo, blurmap, scribbles=np.zeros((60, 80), np.float32))


# --- degenerate cases and bad input ------------------------------------------------------


def test_all_one_class_gives_a_full_or_empty_selection():
    photo = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    sharp = BlurMap.from_labels(np.zeros((50, 70), np.uint8))
    full = S.select(photo, sharp, "sharp")
    assert (full.alpha == 1).all() and "everything selected" in full.message
    empty = S.select(photo, sharp, "defocus")
    assert (empty.alpha == 0).all() and "nothing selected" in empty.message
    big = np.zeros((600, 800, 3), np.uint8)
    assert (S.select(big, BlurMap.from_labels(np.zeros((600, 800), np.uint8)), working_pixels=10_000).alpha == 1).all()


def test_no_confident_pixels_falls_back_to_the_blur_map():
    photo, _, blurmap = make_scene(60, 80)
    scribbles = np.full((60, 80), Sc.SCRIBBLE_UNKNOWN, np.uint8)
    sel = S.select(photo, blurmap, "sharp", scribbles=scribbles)
    assert "anchor" in sel.message
    assert np.array_equal(sel.alpha > 0.5, blurmap.probs[0] >= 0.5)


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (3, 3), (5, 4), (7, 300)])
def test_tiny_photos_never_crash(shape):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    labels = (rng.random(shape) > 0.5).astype(np.uint8) * 2
    sel = S.select(photo, BlurMap.from_labels(labels), "sharp")
    assert sel.alpha.shape == shape
    assert np.isfinite(sel.alpha).all() and 0 <= sel.alpha.min() and sel.alpha.max() <= 1


def test_flat_photo_does_not_crash_the_solver():
    photo = np.full((80, 100, 3), 128, np.uint8)
    labels = np.full((80, 100), 2, np.uint8)
    labels[20:60, 30:70] = 0
    sel = S.select(photo, BlurMap.from_labels(labels), "sharp")
    assert np.isfinite(sel.alpha).all()
    assert sel.alpha[40, 50] == 1.0 and sel.alpha[2, 2] == 0.0


def test_a_failing_solver_falls_back_to_the_blur_map_edge(monkeypatch):
    photo, _, blurmap = make_scene(60, 80)

    def broken(*args, **kwargs):
        raise ArithmeticError("no convergence")

    monkeypatch.setattr(S, "_run_solver", broken)
    sel = S.select(photo, blurmap, "sharp")
    assert "failed" in sel.message and "no convergence" in sel.message
    assert np.array_equal(sel.alpha > 0.5, blurmap.probs[0] >= 0.5)


def test_bad_arguments_are_refused():
    photo, _, blurmap = make_scene(60, 80)
    with pytest.raises(ValueError, match="target"):
        S.select(photo, blurmap, "people")
    with pytest.raises(ValueError, match="solver"):
        S.select(photo, blurmap, solver="magic")
    with pytest.raises(ValueError, match="threshold"):
        S.select(photo, blurmap, threshold=1.5)
    with pytest.raises(ValueError, match="does not match"):
        S.select(photo[:30], blurmap)
    with pytest.raises(ValueError, match="RGB"):
        S.select(photo[..., 0], blurmap)


def test_cancel_and_progress():
    photo, _, blurmap = make_scene(60, 80)
    seen = []
    S.select(photo, blurmap, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(S.Cancelled):
        S.select(photo, blurmap, cancel=lambda: True)


# --- outputs -----------------------------------------------------------------------------


def test_cutout_removes_the_background_colour_from_soft_edges():
    photo, mask, blurmap = make_scene(shift=0)
    alpha = S.select(photo, blurmap, "sharp").alpha
    rgba = Mt.cutout(photo, alpha)
    assert rgba.shape == photo.shape[:2] + (4,) and rgba.dtype == np.uint8
    assert np.array_equal(rgba[..., 3], Mt.alpha_image(alpha))
    soft = (alpha > 0.1) & (alpha < 0.9)
    assert soft.sum() > 50
    # the object is warm (blue/red ~ 0.33), the background cool: the estimate is warmer than the photo
    fg_ratio = np.mean((rgba[soft][:, 2] + 1.0) / (rgba[soft][:, 0] + 1.0))
    photo_ratio = np.mean((photo[soft][:, 2] + 1.0) / (photo[soft][:, 0] + 1.0))
    assert fg_ratio < 0.6 * photo_ratio
    assert np.array_equal(rgba[alpha >= 1.0][:, :3], photo[alpha >= 1.0])


def test_foreground_at_reduced_scale_matches_full_scale():
    photo, _, blurmap = make_scene(shift=0)
    alpha = S.select(photo, blurmap, "sharp").alpha
    full = Mt.estimate_foreground(photo, alpha).astype(np.float32)
    reduced = Mt.estimate_foreground(photo, alpha, working_pixels=10_000).astype(np.float32)
    soft = (alpha > 0.2) & (alpha < 0.8)
    assert np.abs(full[soft] - reduced[soft]).mean() < 25


def test_alpha_image_bits():
    alpha = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert Mt.alpha_image(alpha, 8).tolist() == [[0, 128, 255]] and Mt.alpha_image(alpha, 8).dtype == np.uint8
    assert Mt.alpha_image(alpha, 16).tolist() == [[0, 32768, 65535]] and Mt.alpha_image(alpha, 16).dtype == np.uint16
    with pytest.raises(ValueError):
        Mt.alpha_image(alpha, 12)


def test_previews():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    alpha = np.zeros((40, 60), np.float32)
    alpha[:, 30:] = 1.0
    for mode in Mt.PREVIEW_MODES:
        out = Mt.preview(photo, alpha, mode, strip_pixels=500)  # several strips
        assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.array_equal(Mt.preview(photo, alpha, "black")[:, 30:], photo[:, 30:])
    assert (Mt.preview(photo, alpha, "black")[:, :30] == 0).all()
    assert (Mt.preview(photo, alpha, "white")[:, :30] == 255).all()
    board = Mt.preview(photo, alpha, "checkerboard", checker=4)
    assert set(np.unique(board[:, :30])) == {204, 255} and board[0, 0, 0] != board[0, 4, 0]
    overlay = Mt.preview(photo, alpha, "overlay")
    assert np.array_equal(overlay[:, 30:], photo[:, 30:]) and not np.array_equal(overlay[:, :30], photo[:, :30])
    assert (Mt.preview(photo, alpha, "alpha")[:, 30:] == 255).all()
    with pytest.raises(ValueError, match="mode"):
        Mt.preview(photo, alpha, "sepia")


def test_module_does_not_import_qt_or_pymatting():
    import subprocess
    import sys

    code = "import sys, blurstudio.edit.selection; print(any(m.startswith(('PySide6', 'pymatting')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- command line ------------------------------------------------------------------------


def _write_scene(tmp_path, h=120, w=160):
    from blurstudio.images import write_image

    photo, mask, blurmap = make_scene(h, w, shift=2, sigma=2)
    photo_path = write_image(tmp_path / "scene.png", photo)
    blurmap_path = tmp_path / "scene.npz"
    blurmap.save(blurmap_path)
    return photo_path, blurmap_path, mask


def test_cli_writes_the_matte_and_cutout(tmp_path, capsys):
    from PIL import Image

    photo_path, blurmap_path, mask = _write_scene(tmp_path)
    matte, cut = tmp_path / "matte.png", tmp_path / "cut.png"
    code = main(["select", str(photo_path), "--blurmap", str(blurmap_path), "-o", str(matte), "--cutout", str(cut), "--bits", "16"])
    assert code == 0, capsys.readouterr().err
    assert "selected (sharp)" in capsys.readouterr().out
    m = np.asarray(Image.open(matte))
    assert m.dtype == np.uint16 and m.shape == mask.shape and m.max() == 65535
    assert iou(m > 32767, mask) >= 0.9
    with Image.open(cut) as im:
        assert im.mode == "RGBA" and im.size == (160, 120)
        assert np.array_equal(np.asarray(im)[..., 3], np.round(m / 257.0).astype(np.uint8))


def test_cli_with_detection_and_8_bits(tmp_path, tiny_model_path, capsys):
    from PIL import Image

    photo_path, _, mask = _write_scene(tmp_path)
    matte = tmp_path / "out" / "matte.png"
    matte.parent.mkdir()
    code = main(["select", str(photo_path), "--target", "blurred", "-o", str(matte), "--model", str(tiny_model_path), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    m = np.asarray(Image.open(matte))
    assert m.dtype == np.uint8 and m.shape == mask.shape  # random weights: the content is arbitrary


def test_cli_refuses_to_overwrite(tmp_path, capsys):
    photo_path, blurmap_path, _ = _write_scene(tmp_path, 40, 50)
    before = photo_path.read_bytes()
    assert main(["select", str(photo_path), "--blurmap", str(blurmap_path), "-o", str(photo_path)]) == 2
    assert "input" in capsys.readouterr().err and photo_path.read_bytes() == before
    existing = tmp_path / "existing.png"
    existing.write_bytes(b"keep me")
    assert main(["select", str(photo_path), "--blurmap", str(blurmap_path), "-o", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err and existing.read_bytes() == b"keep me"
    assert main(["select", str(photo_path), "--blurmap", str(blurmap_path), "-o", str(existing), "--overwrite"]) == 0
    assert existing.read_bytes() != b"keep me"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "{tmp}/m.jpg"], "must end in"),
        (["-o", "{tmp}/m.png", "--cutout", "{tmp}/c.jpg"], "must end in"),
        (["-o", "{tmp}/m.png", "--cutout", "{tmp}/m.png"], "different files"),
        (["-o", "{tmp}/nowhere/m.png"], "does not exist"),
    ],
)
def test_cli_usage_errors_exit_2(tmp_path, capsys, extra, message):
    photo_path, blurmap_path, _ = _write_scene(tmp_path, 40, 50)
    argv = ["select", str(photo_path), "--blurmap", str(blurmap_path)] + [a.format(tmp=tmp_path) for a in extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_input_errors_exit_1(tmp_path, capsys):
    photo_path, blurmap_path, _ = _write_scene(tmp_path, 40, 50)
    assert main(["select", str(tmp_path / "missing.jpg"), "--blurmap", str(blurmap_path), "-o", str(tmp_path / "m.png")]) == 1
    assert "missing.jpg" in capsys.readouterr().err
    other = tmp_path / "other.npz"
    BlurMap.from_labels(np.zeros((10, 10), np.uint8)).save(other)
    assert main(["select", str(photo_path), "--blurmap", str(other), "-o", str(tmp_path / "m.png")]) == 1
    assert "does not match" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists()
