"""EditorContext: the plug-in API the editing panels use (no main window needed)."""

import threading

import numpy as np
import pytest

from blurstudio.blurmap import BlurMap
from blurstudio.gui.panels import BrushEvent, EditorContext, EditPanel


@pytest.fixture
def ctx(qtbot):
    c = EditorContext()
    yield c
    c.wait_for_workers()


def _photo(h=8, w=10, value=100):
    return np.full((h, w, 3), value, np.uint8)


def test_run_in_worker_runs_off_gui_thread_and_calls_back_on_it(qtbot, ctx):
    seen = {}

    def work(a, b=0):
        seen["thread"] = threading.get_ident()
        return a + b

    results = []
    ctx.run_in_worker(work, 2, b=3, on_result=lambda v: results.append((v, threading.get_ident())))
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results[0][0] == 5
    assert results[0][1] == threading.get_ident()  # callback on the GUI thread
    assert seen["thread"] != threading.get_ident()


def test_worker_error_goes_to_on_error_or_a_report(qtbot, ctx):
    errors, reports = [], []
    ctx.error_reported.connect(lambda t, m: reports.append(m))
    ctx.run_in_worker(lambda: 1 / 0, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ZeroDivisionError)

    def broken():
        raise ValueError("bad input")

    ctx.run_in_worker(broken)
    qtbot.waitUntil(lambda: bool(reports), timeout=5000)
    assert "bad input" in reports[0]


def test_apply_edit_is_undoable_and_keeps_the_blurmap(qtbot, ctx):
    ctx.set_photo(_photo(value=10))
    bm = BlurMap.from_labels(np.ones((8, 10), np.uint8))
    ctx.set_blurmap(bm)
    ctx.apply_edit(_photo(value=200), "Brighten")
    assert ctx.photo[0, 0, 0] == 200 and ctx.blurmap is bm
    ctx.undo_stack.undo()
    assert ctx.photo[0, 0, 0] == 10
    ctx.undo_stack.redo()
    assert ctx.photo[0, 0, 0] == 200
    with pytest.raises(ValueError):
        ctx.apply_edit(_photo(4, 4), "wrong size")


def test_selection_preview_and_brush(qtbot, ctx):
    ctx.set_photo(_photo())
    with qtbot.waitSignal(ctx.selection_changed):
        ctx.set_selection(np.ones((8, 10), np.float32))
    with pytest.raises(ValueError):
        ctx.set_selection(np.ones((3, 3), np.float32))
    ctx.show_preview(_photo(value=5))
    assert ctx.preview is not None
    ctx.show_preview(None)
    assert ctx.preview is None
    strokes = []
    ctx.begin_brush(strokes.append, radius=4)
    ctx.deliver_brush(BrushEvent("press", 1.0, 2.0))
    ctx.end_brush()
    ctx.deliver_brush(BrushEvent("move", 3.0, 2.0))
    assert strokes == [BrushEvent("press", 1.0, 2.0)]
    assert ctx.brush_callback is None


def test_edit_panel_base(qtbot, ctx):
    class Demo(EditPanel):
        title = "Demo"

    panel = Demo(ctx)
    qtbot.addWidget(panel)
    assert panel.context is ctx and panel.title == "Demo"
