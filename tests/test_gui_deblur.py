"""The Deblur panel on an EditorContext (no main window): kernels, loupe, brush, apply and undo."""


import numpy as np
import pytest


from deblur_textures import blur_with, dead_leaves

from blurstudio.blurmap import BlurMap
from blurstudio.edit.deblur import DEFOCUS, motion_kernel
from blurstudio.gui.panels import PANELS, BrushEvent, EditorContext
from blurstudio.gui.panels.deblur import LOUPE_SIZE, DeblurPanel

TIMEOUT = 30000


@pytest.fixture
def ctx(qtbot):
    c = EditorContext()
    yield c
    c.wait_for_workers()


@pytest.fixture
def panel(qtbot, ctx):
    p = DeblurPanel(ctx)
    qtbot.addWidget(p)
    return p


def _load(ctx):
    """Left third sharp, the rest motion-blurred (14 px at 30 degrees)."""
    sharp = dead_leaves(256, 320, seed=4)
    photo = blur_with(sharp, motion_kernel(14, 30), noise=1.0)
    photo[:, :100] = sharp[:, :100]
    labels = np.full(photo.shape[:2], 1, np.uint8)
    labels[:, :100] = 0
    ctx.set_photo(photo)
    ctx.set_blurmap(BlurMap.from_labels(labels))
    return photo


def test_registered(ctx):
    assert DeblurPanel in PANELS


def test_without_photo_nothing_fails(qtbot, panel, ctx):
    panel.activate()
    assert panel.apply() is None
    panel.deactivate()
    assert "Open a photo" in panel.status.text()


def test_kernels_loupe_brush_apply_undo(qtbot, panel, ctx):
    photo = _load(ctx)
    reports = []
    ctx.error_reported.connect(lambda t, m: reports.append(m))
    panel.activate()
    qtbot.waitUntil(lambda: panel.kernels is not None, timeout=TIMEOUT)
    k = panel.kernels["motion"]
    assert abs(k.length - 14) <= 3 and min(abs(k.angle - 30), 180 - abs(k.angle - 30)) <= 10
    assert len(panel.kernel_views) == 1 and not panel.kernel_views[0][0].pixmap().isNull()
    assert ctx.brush_callback is not None and ctx.brush_radius == LOUPE_SIZE / 2

    # The loupe starts in the blurred region and shows a sharpened crop.
    qtbot.waitUntil(lambda: panel.loupe_images is not None, timeout=TIMEOUT)
    before, after = panel.loupe_images
    assert before.shape == after.shape and not np.array_equal(before, after)
    assert panel.loupe_centre[0] >= 100

    # A click on the canvas moves it: over the sharp part, nothing changes.
    panel.loupe_images = None
    ctx.deliver_brush(BrushEvent("press", 20, 128))
    qtbot.waitUntil(lambda: panel.loupe_images is not None, timeout=TIMEOUT)
    before, after = panel.loupe_images
    assert np.array_equal(before[:, :40], after[:, :40])

    # Apply replaces the photo as one undoable step; sharp pixels are kept exactly.
    panel.strength.setValue(80)
    job = panel.apply()
    assert job is not None
    qtbot.waitUntil(lambda: panel.full_job is None, timeout=TIMEOUT)
    assert not reports
    assert ctx.undo_stack.count() == 1 and "Deblur" in ctx.undo_stack.text(0)
    assert not np.array_equal(ctx.photo, photo)
    assert np.array_equal(ctx.photo[:, :80], photo[:, :80])
    ctx.undo_stack.undo()
    assert np.array_equal(ctx.photo, photo)
    panel.deactivate()
    ctx.wait_for_workers()


def test_whole_photo_preview_and_no_kernels(qtbot, panel, ctx):
    _load(ctx)
    panel.activate()
    qtbot.waitUntil(lambda: bool(panel.kernels), timeout=TIMEOUT)
    panel.whole.setChecked(True)
    qtbot.waitUntil(lambda: ctx.preview is not None, timeout=TIMEOUT)
    assert ctx.preview.shape == ctx.photo.shape
    panel.whole.setChecked(False)
    assert ctx.preview is None
    # A flat photo has nothing to measure: a clear message, Apply disabled.
    ctx.set_photo(np.full((200, 200, 3), 128, np.uint8))
    ctx.set_blurmap(BlurMap.from_labels(np.full((200, 200), DEFOCUS, np.uint8)))
    qtbot.waitUntil(lambda: panel.kernels is not None, timeout=TIMEOUT)
    assert panel.kernels == {} and "No blurred region" in panel.status.text()
    assert not panel.apply_button.isEnabled()
    panel.deactivate()
    ctx.wait_for_workers()


def test_overrides_show_the_estimate_and_reach_the_engine(qtbot, panel, ctx):
    """The sliders rest on the estimates ("auto"); moving one sets that parameter by hand for the
    loupe, the kernel picture and Apply; "Use estimates" goes back."""
    _load(ctx)
    panel.activate()
    qtbot.waitUntil(lambda: bool(panel.kernels), timeout=TIMEOUT)
    estimate = panel.kernels["motion"]
    assert panel.settings().length is None and panel.settings().angle is None
    assert panel.override_labels["length"].text().startswith("auto")
    assert abs(panel.length.setting() - estimate.length) <= 0.5
    panel.length.set_setting(20.0)  # as a drag would
    assert panel.settings().length == 20.0 and panel.settings().angle is None
    kernel = panel.current_kernels()["motion"]
    assert (kernel.length, kernel.source) == (20.0, "set") and abs(kernel.angle - estimate.angle) < 1e-6
    assert "(set)" in panel.kernel_views[0][1].text() and panel.override_labels["length"].text() == "20.0 px"
    panel.loupe_images = None
    qtbot.waitUntil(lambda: panel.loupe_images is not None, timeout=TIMEOUT)
    assert np.array_equal(panel.loupe_images[1], panel.deblurrer.preview(panel.settings(), _loupe_box(panel, ctx))[1])
    assert panel.apply() is not None
    qtbot.waitUntil(lambda: panel.full_job is None, timeout=TIMEOUT)
    assert "motion 20.0 px" in ctx.undo_stack.text(0)  # Apply used the length set by hand
    ctx.undo_stack.undo()
    qtbot.waitUntil(lambda: bool(panel.kernels), timeout=TIMEOUT)  # the undone photo is measured again
    assert panel.settings().length == 20.0  # what the user set is kept for the same photo
    panel.use_estimates.click()
    assert panel.settings().length is None and panel.current_kernels() == panel.kernels
    panel.length.set_setting(25.0)
    _load(ctx)  # another photo: its own estimate
    assert panel.settings().length is None
    panel.deactivate()
    ctx.wait_for_workers()


def _loupe_box(panel, ctx):
    from blurstudio.edit.deblur import loupe_box

    return loupe_box(panel.loupe_centre, LOUPE_SIZE, ctx.photo.shape)


def test_whole_photo_before_after_toggle(qtbot, panel, ctx):
    photo = _load(ctx)
    panel.activate()
    qtbot.waitUntil(lambda: bool(panel.kernels), timeout=TIMEOUT)
    assert not panel.show_before.isEnabled()
    panel.whole.setChecked(True)
    qtbot.waitUntil(lambda: ctx.preview is not None, timeout=TIMEOUT)
    after = ctx.preview
    assert panel.show_before.isEnabled() and not np.array_equal(after, photo)
    panel.show_before.setChecked(True)  # before: the photo itself
    assert ctx.preview is None and panel.show_before.text() == "Show after"
    panel.show_before.setChecked(False)
    assert ctx.preview is after
    panel.whole.setChecked(False)
    assert ctx.preview is None and not panel.show_before.isChecked()
    panel.deactivate()
    ctx.wait_for_workers()


def test_waiting_notice_clears_when_the_map_arrives(qtbot, panel, ctx):
    # The panel is not in use, so no kernel estimate rewrites the status: the notice itself must go.
    photo = dead_leaves(64, 80, seed=1)
    ctx.set_photo(photo)
    assert "Waiting for the blur map" in panel.status.text()
    ctx.set_blurmap(BlurMap.from_labels(np.zeros(photo.shape[:2], np.uint8)))
    assert "Waiting" not in panel.status.text()
