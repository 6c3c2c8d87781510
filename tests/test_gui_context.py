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


def test_latest_keeps_only_the_newest_result_and_cancels_the_older_job(qtbot, ctx):
    import threading as th

    from blurstudio.gui.workers import Latest

    release, cancelled = th.Event(), []

    def slow(value, cancel):
        release.wait(5)
        cancelled.append(cancel())
        return value

    results = []
    latest = Latest(ctx.run_in_worker)
    first = latest.start(slow, "old", cancellable=True, on_result=results.append)
    second = latest.start(slow, "new", cancellable=True, on_result=results.append)
    assert latest.job is second and first.discarded
    release.set()
    qtbot.waitUntil(lambda: not first.running and not second.running, timeout=5000)
    assert results == ["new"] and sorted(cancelled) == [False, True] and not latest.running()


def test_progress_is_delivered_on_the_gui_thread(qtbot, ctx):
    def work(progress):
        for i in range(3):
            progress((i + 1) / 3)
        return "done"

    seen, results = [], []
    ctx.run_in_worker(work, on_progress=lambda f: seen.append((f, threading.get_ident())), on_result=results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert [f for f, _ in seen] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert {t for _, t in seen} == {threading.get_ident()}


def test_the_context_re_emits_the_document_callbacks(qtbot, ctx):
    with qtbot.waitSignals([ctx.photo_opened, ctx.photo_changed, ctx.history_changed]):
        ctx.set_photo(_photo(), source=("x", 1))
    assert ctx.photo is ctx.document.photo and ctx.undo_stack is ctx.document.history
    with qtbot.waitSignals([ctx.photo_changed, ctx.history_changed]):
        ctx.apply_edit(_photo(value=7), "Darken")
    assert ctx.undo_stack.undo_text() == "Darken"
