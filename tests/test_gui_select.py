"""The Select panel: quick preview then full-resolution solve, the selection on the EditorContext,
brush strokes as steps of the document's undo history, preview modes, saving and copying."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from blurstudio.edit import matte as Mt
from blurstudio.edit import scribbles as Sc
from blurstudio.gui.panels import PANELS, BrushEvent, EditorContext
from blurstudio.gui.panels.select import SelectPanel

from test_selection import iou, make_scene

# Generous: the first solve in a fresh environment compiles pymatting's numba kernels (about 50 s on
# a busy 2-core machine); a timeout only matters when something is wrong.
TIMEOUT = 180000


@pytest.fixture
def setup(qtbot, tmp_path):
    ctx = EditorContext()
    panel = SelectPanel(ctx)
    qtbot.addWidget(panel)
    photo, mask, blurmap = make_scene(120, 160, shift=2, sigma=2)
    ctx.set_photo(photo, tmp_path / "photo.png")
    ctx.set_blurmap(blurmap)
    yield ctx, panel, photo, mask
    panel.deactivate()
    ctx.wait_for_workers()


def _wait_full(qtbot, panel):
    qtbot.waitUntil(lambda: panel.full is not None and panel.full.generation == panel.generation, timeout=TIMEOUT)


def test_registered_and_idle_until_shown(qtbot, setup):
    ctx, panel, _, _ = setup
    assert SelectPanel in PANELS
    qtbot.wait(600)
    assert ctx.selection is None and panel.result is None  # no matting until the panel is used
    assert not panel.save_matte_button.isEnabled()


def test_activate_solves_and_sets_the_selection(qtbot, setup):
    ctx, panel, photo, mask = setup
    panel.activate()
    _wait_full(qtbot, panel)
    assert ctx.selection is not None and ctx.selection.shape == mask.shape
    assert iou(ctx.selection > 0.5, mask) >= 0.9
    qtbot.waitUntil(lambda: ctx.preview is not None, timeout=TIMEOUT)
    assert ctx.preview.shape == photo.shape
    assert panel.save_matte_button.isEnabled() and panel.copy_button.isEnabled()

    panel.view.setCurrentIndex(panel.view.findData("black"))
    qtbot.waitUntil(lambda: ctx.preview is not None and ctx.preview[ctx.selection == 0].max() == 0, timeout=TIMEOUT)
    assert np.array_equal(ctx.preview[ctx.selection >= 1.0], photo[ctx.selection >= 1.0])

    before = ctx.selection.mean()
    panel.target.setCurrentIndex(panel.target.findData("defocus"))
    _wait_full(qtbot, panel)
    assert iou(ctx.selection > 0.5, ~mask) >= 0.9 and ctx.selection.mean() > before


def test_brush_strokes_with_undo_and_redo(qtbot, setup):
    ctx, panel, _, mask = setup
    panel.activate()
    _wait_full(qtbot, panel)
    assert ctx.selection[60, 80] > 0.9  # the object's centre
    panel.brush.setChecked(True)
    assert ctx.brush_callback is not None
    panel.brush_modes.button(Sc.SCRIBBLE_OUTSIDE).setChecked(True)
    panel.brush_size.setValue(1)
    for phase, x in (("press", 70), ("move", 80), ("release", 90)):
        ctx.deliver_brush(BrushEvent(phase, x, 60))
    history = ctx.undo_stack
    assert panel.scribbles[60, 80] == Sc.SCRIBBLE_OUTSIDE and history.count() == 1
    assert history.undo_text() == "Brush stroke" and history.is_clean()  # strokes are not unsaved pixels
    _wait_full(qtbot, panel)
    assert ctx.selection[60, 80] == 0.0

    history.undo()
    assert not panel.scribbles.any()
    _wait_full(qtbot, panel)
    assert ctx.selection[60, 80] > 0.9
    history.redo()
    _wait_full(qtbot, panel)
    assert ctx.selection[60, 80] == 0.0

    # erasing (Alt / right button) removes strokes; clear removes all, as one undoable step
    for phase in ("press", "release"):
        ctx.deliver_brush(BrushEvent(phase, 70, 60, erase=True))
    assert panel.scribbles[60, 70] == Sc.SCRIBBLE_NONE and panel.scribbles[60, 85] == Sc.SCRIBBLE_OUTSIDE
    panel.clear_strokes()
    assert not panel.scribbles.any()
    history.undo()
    assert panel.scribbles[60, 85] == Sc.SCRIBBLE_OUTSIDE

    panel.brush.setChecked(False)
    assert ctx.brush_callback is None


def test_save_matte_cutout_and_copy(qtbot, setup, tmp_path):
    from PySide6.QtGui import QGuiApplication

    ctx, panel, photo, _ = setup
    panel.activate()
    _wait_full(qtbot, panel)
    panel.bits16.setChecked(True)
    matte = tmp_path / "m.png"
    assert panel.save_matte_to(matte) is not None
    qtbot.waitUntil(lambda: panel.full_job is None, timeout=TIMEOUT)
    with Image.open(matte) as im:
        m = np.asarray(im)
    assert m.dtype == np.uint16 and m.shape == photo.shape[:2]
    assert np.array_equal(m, Mt.alpha_image(ctx.selection, 16))

    cut = tmp_path / "c.png"
    assert panel.save_cutout_to(cut) is not None
    qtbot.waitUntil(lambda: panel.full_job is None, timeout=TIMEOUT)
    with Image.open(cut) as im:
        assert im.mode == "RGBA" and im.size == (160, 120)

    errors = []
    ctx.error_reported.connect(lambda title, text: errors.append(text))
    ctx.photo_path.write_bytes(b"the original")
    panel.save_matte_to(ctx.photo_path)  # never over the photo
    qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT)
    assert "refusing" in errors[0] and ctx.photo_path.read_bytes() == b"the original"

    assert panel.copy_cutout() is not None
    qtbot.waitUntil(lambda: panel.full_job is None, timeout=TIMEOUT)
    image = QGuiApplication.clipboard().image()
    assert (image.width(), image.height()) == (160, 120)


def test_new_photo_resets_strokes(qtbot, setup):
    ctx, panel, _, _ = setup
    panel.activate()
    panel.scribbles[10:20, 10:20] = Sc.SCRIBBLE_INSIDE
    panel.strokes_changed()
    photo, _, blurmap = make_scene(60, 80)
    ctx.set_photo(photo)
    assert panel.scribbles.shape == (60, 80) and not panel.scribbles.any() and ctx.undo_stack.count() == 0
    ctx.set_blurmap(blurmap)
    _wait_full(qtbot, panel)
    assert ctx.selection.shape == (60, 80)


def test_waiting_notice_clears_when_the_map_arrives(qtbot, tmp_path):
    from blurstudio.gui.panels.magnify import MagnifyPanel

    ctx = EditorContext()
    panels = [SelectPanel(ctx), MagnifyPanel(ctx)]
    for p in panels:
        qtbot.addWidget(p)
    photo, _, blurmap = make_scene(64, 80, shift=2, sigma=2)
    ctx.set_photo(photo, tmp_path / "photo.png")
    assert all("Waiting for the blur map" in p.status.text() for p in panels)
    ctx.set_blurmap(blurmap)
    qtbot.waitUntil(lambda: all("Waiting" not in p.status.text() for p in panels), timeout=TIMEOUT)
    ctx.wait_for_workers()
