"""The plug-in point as the main window hosts it: tabs, preview on the canvas, undoable edits,
brush strokes in photo coordinates; and every registered panel starts."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from blurstudio.gui.canvas import ViewMode
from blurstudio.gui.panels import PANELS, EditPanel
from blurstudio.gui.window import MainWindow

from gui_helpers import Dialogs, make_photo, temporary_settings

TIMEOUT = 20000


class DemoPanel(EditPanel):
    title = "Demo"

    def __init__(self, context, parent=None):
        super().__init__(context, parent)
        self.strokes = []
        self.activated = 0

    def activate(self):
        self.activated += 1


@pytest.fixture
def window(qtbot, tmp_path, tiny_model_path, monkeypatch):
    Dialogs().install(monkeypatch)
    monkeypatch.setattr("blurstudio.gui.panel_dock.panel_classes", lambda: [DemoPanel])
    w = MainWindow(temporary_settings(tmp_path, model=str(tiny_model_path)))
    qtbot.addWidget(w)
    w.resize(900, 650)
    w.show()
    w.edit_dock.load_panels()
    w.open_photo(make_photo(tmp_path / "p.png"))
    qtbot.waitUntil(lambda: w.context.blurmap is not None and w.overlay.ready(), timeout=TIMEOUT)
    yield w
    w.shutdown()


def test_panel_is_a_tab_and_previews_on_the_canvas(qtbot, window):
    panel = window.edit_dock.panels[0]
    assert window.edit_dock.tabs.tabText(0) == "Demo" and isinstance(panel, DemoPanel)
    assert panel.activated == 0  # not at startup: the blur map shows first
    window.edit_dock.tabs.tabBarClicked.emit(0)  # the user picks the tab
    assert panel.activated == 1
    ctx = window.context
    ctx.show_preview(np.zeros_like(ctx.photo))
    qtbot.waitUntil(lambda: window.canvas.preview_item.pyramid is not None, timeout=TIMEOUT)
    assert window.canvas.preview_item.isVisible() and not window.canvas.overlay_item.isVisible()
    window.overlay.set_view_mode(ViewMode.SPLIT)
    assert window.canvas.preview_item.clip_left_of is not None
    window.overlay.set_view_mode(ViewMode.OVERLAY)  # back to the blur map: the panel is left
    assert ctx.preview is None and window.canvas.preview_item.pyramid is None
    assert window.canvas.overlay_item.isVisible()


def test_apply_edit_undo_redo_through_the_window(qtbot, window):
    ctx = window.context
    before, blurmap = ctx.photo, ctx.blurmap
    ctx.apply_edit(255 - before, "Invert")
    assert window.isWindowModified() and ctx.blurmap is blurmap
    assert window.menus.undo_action.isEnabled() and "Invert" in window.menus.undo_action.text()
    window.menus.undo_action.trigger()
    assert ctx.photo is before and not window.isWindowModified()
    window.menus.redo_action.trigger()
    assert np.array_equal(ctx.photo, 255 - before)
    qtbot.waitUntil(lambda: not window._pyramid.running(), timeout=TIMEOUT)


def test_brush_strokes_arrive_in_photo_coordinates(qtbot, window):
    ctx = window.context
    strokes = []
    ctx.begin_brush(strokes.append, radius=5)
    canvas = window.canvas
    centre = canvas.mapFromScene(64.0, 48.0)  # the photo is 128 x 96
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas.viewport(), pos=centre + QPoint(10, 0))
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre + QPoint(10, 0))
    phases = [s.phase for s in strokes]
    assert phases[0] == "press" and phases[-1] == "release"
    assert abs(strokes[0].x - 64) < 2 and abs(strokes[0].y - 48) < 2 and not strokes[0].erase
    ctx.end_brush()
    n = len(strokes)
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert len(strokes) == n  # after end_brush, dragging pans again


def test_switching_tabs_clears_preview_and_brush(qtbot, window, monkeypatch):
    ctx = window.context
    ctx.show_preview(np.zeros_like(ctx.photo))
    ctx.begin_brush(lambda e: None)
    window.edit_dock.tabs.tabBarClicked.emit(0)
    window.edit_dock.leave_panel()  # e.g. the user toggled a class in the Blur map dock
    assert ctx.preview is None and ctx.brush_callback is None


@pytest.mark.parametrize("panel_class", PANELS, ids=lambda c: c.__name__)
def test_registered_panels_start_in_the_window(qtbot, tmp_path, tiny_model_path, monkeypatch, panel_class):
    dialogs = Dialogs().install(monkeypatch)
    monkeypatch.setattr("blurstudio.gui.panel_dock.panel_classes", lambda: [panel_class])
    w = MainWindow(temporary_settings(tmp_path, model=str(tiny_model_path)))
    qtbot.addWidget(w)
    # Only construction and activation are checked here: background jobs (e.g. JIT warm-ups) are not run.
    monkeypatch.setattr(w.context, "run_in_worker", lambda fn, *a, **k: None)
    w.show()
    w.edit_dock.load_panels()
    try:
        assert len(w.edit_dock.panels) == 1 and w.edit_dock.tabs.tabText(0) == panel_class.title
        w.edit_dock.tabs.tabBarClicked.emit(0)  # activate without a photo: must not fail
        w.edit_dock.leave_panel()
        assert not [c for c in dialogs.calls if c[0] in ("warning", "critical")]  # (each panel's own tests cover photos)
    finally:
        w.shutdown()
