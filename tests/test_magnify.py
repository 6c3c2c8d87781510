"""Blur magnification: engine (blur-radius estimate, layered lens blur, no halo) and the CLI."""

import cv2
import numpy as np
import pytest

from blurstudio.blurmap import BlurMap
from blurstudio.edit import magnify as M

SHARP, DEFOCUS = 0, 2


def _rectangles(h: int, w: int, seed: int, n: int = 14, sizes=(30, 90)) -> np.ndarray:
    """Piecewise-constant colour rectangles: step edges of many contrasts and orientations."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 128, np.float32)
    for _ in range(n):
        y, x = rng.integers(0, h), rng.integers(0, w)
        hh, ww = rng.integers(*sizes, 2)
        img[y : y + hh, x : x + ww] = rng.integers(20, 235, 3)
    return img


def _defocus(img: np.ndarray, radius: float, noise: float = 1.0, seed: int = 0) -> np.ndarray:
    out = cv2.filter2D(img.astype(np.float32), -1, M.aperture_kernel(radius), borderType=cv2.BORDER_REFLECT)
    out += np.random.default_rng(seed).normal(0.0, noise, out.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.uniform(0, 255, (h // 6, w // 6, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def _half_sharp_scene(h=160, w=200, seed=1):
    """Left half: sharp texture and edges; right half: the same kind defocused with radius 3."""
    sharp = np.clip(0.5 * _texture(h, w, seed) + 0.5 * _rectangles(h, w, seed, n=20, sizes=(10, 40)), 0, 255)
    blurred = _defocus(0.5 * _texture(h, w, seed + 1) + 0.5 * _rectangles(h, w, seed + 1, n=20, sizes=(20, 60)), 3.0)
    photo = blurred.copy()
    photo[:, : w // 2] = np.clip(sharp[:, : w // 2] + 0.5, 0, 255).astype(np.uint8)
    labels = np.full((h, w), DEFOCUS, np.uint8)
    labels[:, : w // 2] = SHARP
    return photo, BlurMap.from_labels(labels)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _high_frequency_energy(img: np.ndarray) -> float:
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.mean(cv2.Laplacian(g, cv2.CV_32F) ** 2))


# --- building blocks ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", M.BOKEH_SHAPES)
def test_aperture_kernels_are_normalised_and_shaped(shape):
    k = M.aperture_kernel(6.0, shape)
    n = k.shape[0]
    assert k.shape == (n, n) and n % 2 == 1 and 13 <= n <= 15 and abs(float(k.sum()) - 1) < 1e-5
    assert k[n // 2, n // 2] > 0 and k[0, 0] == 0  # centre in, corner out
    area = float((k > 0.5 * k.max()).sum())
    assert abs(area - np.pi * 36) < 0.1 * np.pi * 36  # both shapes have the area of the disk
    assert M.aperture_kernel(0.0, shape).shape == (1, 1)
    with pytest.raises(ValueError, match="bokeh"):
        M.aperture_kernel(3.0, "star")


def test_highlight_boost_round_trips():
    v = np.linspace(0, 1, 1001)
    for boost in (0.0, 1.0, 5.0):
        assert np.allclose(M._unboost(M._boost(v, boost), boost), v, atol=1e-5)
    photo = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    photo[0, 0] = 255
    for boost in (0.0, 3.0):
        lin = M._boosted_linear(photo, boost)
        assert (lin[0, 0] > 1.0).all() == (boost > 0)  # white is brighter than white when boosted
        back = M._linear_rows_to_srgb(M._unboost_rows(lin, boost))
        assert np.max(np.abs(back - photo)) < 0.6  # exact after rounding


def test_push_pull_keeps_known_pixels_and_fills_holes_from_them():
    values = np.zeros((40, 50), np.float32)
    weights = np.ones((40, 50), np.float32)
    values[:, :25], values[:, 25:] = 10.0, 20.0
    weights[10:30, 15:35] = 0.0  # hole across the boundary
    values[10:30, 15:35] = 1000.0  # garbage that must not leak
    filled = M.push_pull(values, weights)[0]
    known = weights > 0
    assert np.allclose(filled[known], values[known])
    assert 10.0 - 1e-3 <= filled[~known].min() and filled[~known].max() <= 20.0 + 1e-3


# --- blur-amount estimate ------------------------------------------------------------------------


def test_blur_radius_estimate_is_monotonic_and_within_30_percent():
    true_radii = [1.5, 2.0, 3.0, 4.0, 6.0]
    scene = _rectangles(224, 224, seed=3)
    blurmap = BlurMap.from_labels(np.full((224, 224), DEFOCUS, np.uint8))
    estimates = []
    for i, r in enumerate(true_radii):
        est = M.estimate_blur_radius(_defocus(scene, r, seed=i), blurmap)
        assert est.shape == (224, 224) and est.dtype == np.float32
        estimates.append(float(np.median(est)))
    for r, e in zip(true_radii, estimates):
        assert abs(e - r) <= 0.3 * r, f"true radius {r}: estimated {e:.2f} (all: {estimates})"
    assert all(a < b for a, b in zip(estimates, estimates[1:])), estimates


def test_blur_radius_is_zero_on_sharp_and_motion_pixels_unless_asked():
    scene = _defocus(_rectangles(160, 160, seed=4), 3.0)
    labels = np.full((160, 160), DEFOCUS, np.uint8)
    labels[:, :50] = SHARP
    labels[:, 110:] = 1  # motion
    blurmap = BlurMap.from_labels(labels)
    est = M.estimate_blur_radius(scene, blurmap)
    assert float(est[:, :35].max()) < 0.05 and float(est[:, 125:].max()) < 0.05
    assert float(np.median(est[:, 65:95])) > 1.5
    with_motion = M.estimate_blur_radius(scene, blurmap, include_motion=True)
    assert float(np.median(with_motion[:, 125:])) > 1.5


def test_blur_radius_colour_view():
    view = M.colorize_blur_radius(np.array([[0.0, 1.0], [2.0, 4.0]], np.float32))
    assert view.shape == (2, 2, 3) and view.dtype == np.uint8
    assert view[0, 0].sum() < view[1, 1].sum()  # dark = sharp, bright = very blurred


# --- rendering ---------------------------------------------------------------------------------


def test_amount_one_leaves_the_photo_unchanged():
    photo, blurmap = _half_sharp_scene()
    assert np.array_equal(M.magnify(photo, blurmap, amount=1.0), photo)
    assert np.array_equal(M.Magnifier(photo, blurmap).render(M.MagnifySettings(1.0, highlight_boost=3.0)), photo)


def test_sharp_pixels_away_from_edges_are_unchanged():
    photo, blurmap = _half_sharp_scene()
    out = M.magnify(photo, blurmap, amount=3.0, bokeh="hexagon", highlight_boost=2.0)
    assert out.shape == photo.shape and out.dtype == np.uint8
    inner = slice(None), slice(0, 100 - 16)  # sharp half, 16 px away from the boundary
    assert _psnr(out[inner], photo[inner]) >= 40.0
    assert _psnr(out[:, 116:], photo[:, 116:]) < 35.0  # while the defocused half did change


def test_high_frequency_energy_falls_monotonically_with_amount():
    photo, blurmap = _half_sharp_scene()
    m = M.Magnifier(photo, blurmap)
    region = slice(8, -8), slice(120, -8)
    energies = [_high_frequency_energy(m.render(M.MagnifySettings(a))[region]) for a in (1.0, 1.5, 2.0, 3.0, 4.0)]
    assert all(a > b for a, b in zip(energies, energies[1:])), energies


def test_highlights_bloom_with_boost_and_bokeh_shape_matters():
    h, w = 96, 96
    img = np.full((h, w, 3), 30.0, np.float32)
    img[:, 48:] += 40.0  # an edge to measure the existing blur on
    img[30:32, 20:22] = 255.0  # a clipped highlight
    photo = _defocus(img, 2.0, noise=0.0)
    photo[30:32, 20:22] = 255
    blurmap = BlurMap.from_labels(np.full((h, w), DEFOCUS, np.uint8))
    m = M.Magnifier(photo, blurmap)
    spot = slice(18, 44), slice(8, 34)
    plain = m.render(M.MagnifySettings(4.0, "circle", 0.0))[spot].astype(float)
    boosted = m.render(M.MagnifySettings(4.0, "circle", 6.0))[spot].astype(float)
    assert boosted.sum() > plain.sum() * 1.02 and boosted.max() > plain.max()
    hexagon = m.render(M.MagnifySettings(4.0, "hexagon", 6.0))[spot].astype(float)
    assert np.abs(hexagon - boosted).max() > 2  # a differently shaped disc


def test_motion_blurred_pixels_are_left_alone_unless_asked():
    scene = _defocus(_rectangles(120, 160, seed=5), 3.0)
    labels = np.full((120, 160), DEFOCUS, np.uint8)
    labels[:, 80:] = 1  # motion
    blurmap = BlurMap.from_labels(labels)
    inner = slice(None), slice(100, None)
    assert _psnr(M.magnify(scene, blurmap, 3.0)[inner], scene[inner]) >= 40.0
    assert _psnr(M.magnify(scene, blurmap, 3.0, include_motion=True)[inner], scene[inner]) < 40.0


def _disk_scene(h=160, w=160, radius=40):
    """A sharp red disk (anti-aliased) over a defocused background whose red never exceeds green or blue."""
    rng = np.random.default_rng(7)
    tex = _texture(h, w, seed=8)
    tex[..., 0] = np.minimum(tex[..., 0], np.minimum(tex[..., 1], tex[..., 2]))  # R <= min(G, B)
    background = _defocus(tex, 3.0, noise=0.0)
    background[..., 0] = np.minimum(background[..., 0], background[..., 1:].min(axis=2))
    ss = 4  # supersampled coverage of the disk
    yy, xx = np.mgrid[: h * ss, : w * ss]
    inside = ((yy + 0.5) / ss - h / 2) ** 2 + ((xx + 0.5) / ss - w / 2) ** 2 < radius**2
    alpha = inside.reshape(h, ss, w, ss).mean(axis=(1, 3)).astype(np.float32)
    red = np.array([220, 30, 40], np.float32)
    photo = background * (1 - alpha[..., None]) + red * alpha[..., None] + rng.normal(0, 0.0, (h, w, 3))
    labels = np.where(alpha > 0.5, SHARP, DEFOCUS).astype(np.uint8)
    return np.clip(photo + 0.5, 0, 255).astype(np.uint8), BlurMap.from_labels(labels), alpha


@pytest.mark.parametrize("use_selection", [True, False])
def test_no_subject_colour_bleeds_past_the_matte_edge(use_selection):
    photo, blurmap, alpha = _disk_scene()
    m = M.Magnifier(photo, blurmap, selection=alpha if use_selection else None)
    out = m.render(M.MagnifySettings(4.0, highlight_boost=3.0))
    outside = m.matte == 0
    assert outside.sum() > 0.5 * outside.size
    redness = out[..., 0].astype(int) - out[..., 1:].min(axis=2).astype(int)
    assert int(redness[outside].max()) <= 1  # red never exceeds green/blue where the background shows
    assert _high_frequency_energy(out) < _high_frequency_energy(photo)  # and the background did blur
    centre = slice(60, 100), slice(60, 100)
    assert np.array_equal(out[centre], photo[centre])  # the subject itself is untouched


def test_preview_is_reduced_and_consistent():
    photo, blurmap = _half_sharp_scene(h=200, w=300)
    m = M.Magnifier(photo, blurmap)
    preview = m.render(M.MagnifySettings(2.0), max_pixels=15_000)
    assert preview.shape[0] * preview.shape[1] <= 15_500 and abs(preview.shape[1] / preview.shape[0] - 1.5) < 0.05
    assert m.blur_radius(15_000).shape == preview.shape[:2]
    assert m.blur_radius_image(15_000).shape == preview.shape


def test_preview_matches_the_full_render_downscaled():
    photo, blurmap = _half_sharp_scene(h=240, w=320)
    m = M.Magnifier(photo, blurmap)
    full = m.render(M.MagnifySettings(3.0, "hexagon", 2.0))
    preview = m.render(M.MagnifySettings(3.0, "hexagon", 2.0), max_pixels=240 * 320 // 4)
    down = cv2.resize(full, (preview.shape[1], preview.shape[0]), interpolation=cv2.INTER_AREA)
    assert _psnr(preview, down) >= 35.0  # what the slider shows is what Apply / Export give


def test_progress_and_cancel():
    photo, blurmap = _half_sharp_scene()
    seen = []
    M.magnify(photo, blurmap, amount=2.0, progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    with pytest.raises(M.Cancelled):
        M.magnify(photo, blurmap, amount=2.0, cancel=lambda: True)


def test_bad_input_gives_clear_errors():
    photo, blurmap = _half_sharp_scene()
    with pytest.raises(ValueError, match="amount"):
        M.magnify(photo, blurmap, amount=0.5)
    with pytest.raises(ValueError, match="bokeh"):
        M.magnify(photo, blurmap, bokeh="star")
    with pytest.raises(ValueError, match="does not match"):
        M.magnify(photo[:50], blurmap)
    with pytest.raises(ValueError, match="selection"):
        M.magnify(photo, blurmap, selection=np.ones((3, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        M.magnify(photo.astype(np.float32), blurmap)


# --- command line ------------------------------------------------------------------------------


def test_cli_magnify_end_to_end(tmp_path, tiny_model_path):
    from PIL import Image

    from blurstudio.cli import main
    from blurstudio.images import read_image

    photo, _ = _half_sharp_scene(h=96, w=128)
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90 degrees
    Image.fromarray(photo).save(src, quality=95, exif=exif)
    shown = read_image(src)
    assert shown.shape == (128, 96, 3)

    out = tmp_path / "out.png"
    args = ["magnify", str(src), "--amount", "2.5", "--bokeh", "hexagon", "--highlight-boost", "2",
            "--model", str(tiny_model_path), "--device", "cpu", "-o", str(out)]
    assert main(args) == 0
    result = read_image(out)
    assert result.shape == shown.shape  # same size and orientation as the photo as displayed

    jpg = tmp_path / "out.jpg"
    assert main(args[:-1] + [str(jpg), "--quality", "80"]) == 0
    assert read_image(jpg).shape == shown.shape

    before = out.read_bytes()
    assert main(args) == 2  # exists: refused without --overwrite
    assert out.read_bytes() == before
    assert main(args[:-2] + ["-o", str(src)]) == 2  # never over the input
    assert main(args[:-1] + [str(tmp_path / "out.gif")]) == 2
    assert main(["magnify", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "x.jpg")]) == 1
    assert main(["magnify", str(src), "--amount", "0.5", "-o", str(tmp_path / "x.jpg")]) == 2


def test_cli_magnify_with_saved_blurmap_and_matte(tmp_path, capsys):
    from PIL import Image

    from blurstudio.cli import main

    photo, blurmap, alpha = _disk_scene(96, 96, radius=24)
    src = tmp_path / "disk.png"
    Image.fromarray(photo).save(src)
    blurmap.save(tmp_path / "disk_map.npz")
    Image.fromarray((alpha * 255).astype(np.uint8)).save(tmp_path / "disk_matte.png")
    out = tmp_path / "disk_out.png"
    code = main(["magnify", str(src), "--blurmap", str(tmp_path / "disk_map.npz"),
                 "--matte", str(tmp_path / "disk_matte.png"), "--amount", "3", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    result = np.asarray(Image.open(out))
    assert result.shape == photo.shape and not np.array_equal(result, photo)

    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small_matte.png")
    code = main(["magnify", str(src), "--blurmap", str(tmp_path / "disk_map.npz"),
                 "--matte", str(tmp_path / "small_matte.png"), "-o", str(tmp_path / "o2.png")])
    assert code == 1 and "does not match" in capsys.readouterr().err


# --- GUI panel ---------------------------------------------------------------------------------


def test_magnify_panel_preview_apply_undo_export(qtbot, tmp_path):
    from blurstudio.gui.panels import PANELS, EditorContext
    from blurstudio.gui.panels.magnify import MagnifyPanel
    from blurstudio.images import read_image

    assert MagnifyPanel in PANELS
    ctx = EditorContext()
    panel = MagnifyPanel(ctx)
    qtbot.addWidget(panel)
    assert not panel.apply_button.isEnabled()  # no photo yet

    photo, blurmap = _half_sharp_scene(h=120, w=160)
    ctx.set_photo(photo, tmp_path / "photo.png")
    ctx.set_blurmap(blurmap)
    assert not panel.protect.isEnabled()  # no selection to protect
    panel.activate()
    qtbot.waitUntil(lambda: ctx.preview is not None, timeout=10000)
    assert panel.magnifier is not None and panel.apply_button.isEnabled()
    assert ctx.preview.shape == photo.shape and not np.array_equal(ctx.preview, photo)

    panel.show_amount.setChecked(True)  # the blur-amount view
    qtbot.waitUntil(lambda: ctx.preview is not None and ctx.preview[60, 10].sum() < ctx.preview[60, 150].sum(), timeout=10000)
    panel.show_amount.setChecked(False)

    alpha = np.zeros(photo.shape[:2], np.float32)
    alpha[:, :80] = 1.0
    ctx.set_selection(alpha)
    assert panel.protect.isEnabled()
    panel.protect.setChecked(True)
    qtbot.waitUntil(lambda: panel.magnifier is not None and panel.magnifier.matte is not None, timeout=10000)
    assert np.array_equal(panel.magnifier.matte, alpha)

    panel.amount.setValue(300)
    job = panel.apply()
    assert job is not None
    qtbot.waitUntil(lambda: ctx.undo_stack.count() == 1, timeout=20000)
    assert not np.array_equal(ctx.photo, photo) and ctx.photo.shape == photo.shape
    qtbot.waitUntil(lambda: panel.magnifier is not None, timeout=10000)  # re-estimated on the new photo
    qtbot.wait(300)
    assert ctx.preview is None  # but no automatic preview of the result magnified again
    ctx.undo_stack.undo()
    assert np.array_equal(ctx.photo, photo)

    qtbot.waitUntil(lambda: panel.magnifier is not None and panel.export_button.isEnabled(), timeout=10000)
    out = tmp_path / "exported.jpg"
    assert panel.export_to(out) is not None
    qtbot.waitUntil(out.exists, timeout=20000)
    assert read_image(out).shape == photo.shape
    panel.deactivate()
    ctx.wait_for_workers()
