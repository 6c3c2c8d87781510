"""The Qt-free document: photo, blur map, selection and the undo history with its memory budget."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from blurstudio.blurmap import BlurMap
from blurstudio.document import Document, History, Step


def _photo(value: int, h: int = 8, w: int = 10) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


def _record(doc: Document) -> list[str]:
    seen: list[str] = []
    for name in ("opened", "photo_changed", "blurmap_changed", "selection_changed"):
        getattr(doc, name).connect(lambda name=name: seen.append(name))
    doc.history.changed.connect(lambda: seen.append("history"))
    return seen


def test_the_document_imports_without_qt():
    code = (
        "import sys, blurstudio.document as d\n"
        "doc = d.Document(); doc.open(__import__('numpy').zeros((4, 4, 3), 'uint8'))\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_open_tells_observers_and_clears_the_old_photo_state():
    doc = Document()
    doc.open(_photo(1), "a.png", source=("a.png", 1))
    doc.set_blurmap(BlurMap.from_labels(np.zeros((8, 10), np.uint8)))
    doc.set_selection(np.ones((8, 10)))
    doc.apply_edit(_photo(2), "Brighten")
    seen = _record(doc)
    doc.open(_photo(3), "b.png")
    assert seen == ["history", "opened", "photo_changed", "blurmap_changed", "selection_changed"]
    assert doc.path.name == "b.png" and doc.blurmap is None and doc.selection is None and doc.history.count() == 0
    doc.close()
    assert doc.photo is None and doc.path is None


def test_inputs_must_fit_the_photo():
    doc = Document()
    with pytest.raises(ValueError):
        doc.set_selection(np.ones((8, 10)))  # no photo yet
    with pytest.raises(ValueError):
        doc.apply_edit(_photo(1), "edit")
    doc.open(_photo(1))
    with pytest.raises(ValueError):
        doc.set_blurmap(BlurMap.from_labels(np.zeros((3, 3), np.uint8)))
    with pytest.raises(ValueError):
        doc.set_selection(np.ones((3, 3)))
    with pytest.raises(ValueError):
        doc.apply_edit(_photo(1, 4, 4), "wrong size")
    with pytest.raises(ValueError):
        doc.apply_edit(_photo(1).astype(np.float32), "wrong type")
    assert doc.selection is None and doc.history.count() == 0
    doc.set_selection(np.ones((8, 10), np.float64))
    assert doc.selection.dtype == np.float32


def test_edits_undo_and_redo_and_the_content_key_follows_the_pixels():
    doc = Document()
    doc.open(_photo(10), source=("file", 1))
    opened_key = doc.content_key()
    blurmap = BlurMap.from_labels(np.ones((8, 10), np.uint8))
    doc.set_blurmap(blurmap)
    seen = _record(doc)
    doc.apply_edit(_photo(200), "Brighten")
    assert doc.photo[0, 0, 0] == 200 and doc.blurmap is blurmap and seen == ["photo_changed", "history"]
    edited_key = doc.content_key()
    assert edited_key != opened_key
    assert doc.history.undo_text() == "Brighten" and not doc.history.can_redo()
    doc.history.undo()
    assert doc.photo[0, 0, 0] == 10 and doc.content_key() == opened_key
    assert doc.history.redo_text() == "Brighten"
    doc.history.redo()
    assert doc.photo[0, 0, 0] == 200 and doc.content_key() == edited_key
    generation = doc.edit_generation
    doc.history.undo()
    assert doc.edit_generation > generation  # every change of pixels counts, undo too
    doc.apply_edit(_photo(50), "Darken")  # a new edit drops the undone one
    assert doc.history.count() == 1 and doc.history.text(0) == "Darken" and not doc.history.can_redo()
    other = Document()
    other.open(_photo(10))
    assert other.content_key() != opened_key  # photos without a source never share a key


def test_the_history_drops_the_oldest_steps_past_its_budget():
    photo_bytes = _photo(0).nbytes
    doc = Document(history_budget=2 * photo_bytes)
    doc.open(_photo(0))
    for value in (1, 2, 3, 4):
        doc.apply_edit(_photo(value), f"edit {value}")
    history = doc.history
    assert history.count() == 2 and history.nbytes() <= 2 * photo_bytes
    assert [history.text(i) for i in range(2)] == ["edit 3", "edit 4"]
    history.undo()
    history.undo()
    assert doc.photo[0, 0, 0] == 2 and not history.can_undo()  # edits 1 and 2 can no longer be undone
    history.redo()
    history.redo()
    assert doc.photo[0, 0, 0] == 4


def test_a_step_larger_than_the_budget_is_still_kept():
    doc = Document(history_budget=1)
    doc.open(_photo(0))
    doc.apply_edit(_photo(1), "big")
    doc.apply_edit(_photo(2), "bigger")
    assert doc.history.count() == 1
    doc.history.undo()
    assert doc.photo[0, 0, 0] == 1


def test_the_saved_state_is_tracked_through_undo_redo_and_dropped_steps():
    history = History(budget_bytes=100)
    state = []

    def step(n: int, nbytes: int = 0) -> Step:
        state.append(n)
        return Step(f"step {n}", undo=state.pop, redo=lambda: state.append(n), nbytes=nbytes)

    assert history.is_clean()
    history.push(step(1))
    assert not history.is_clean()
    history.undo()
    assert history.is_clean() and state == []
    history.redo()
    history.set_clean()  # e.g. saved to a file
    history.push(step(2))
    history.undo()
    assert history.is_clean() and state == [1]
    history.undo()
    history.push(step(3))  # the saved state (after step 1) can no longer be reached
    assert not history.is_clean()
    history.set_clean()
    history.push(step(4, nbytes=60))
    history.push(step(5, nbytes=60))  # over budget: step 3 and 4 go, and with them the saved state
    assert history.count() == 1 and not history.is_clean()
    history.undo()
    assert not history.is_clean() and state == [3, 4]


def test_an_observer_can_disconnect():
    doc = Document()
    calls = []

    def once() -> None:
        calls.append(1)
        doc.opened.disconnect(once)

    doc.opened.connect(once)
    doc.open(_photo(1))
    doc.open(_photo(2))
    assert calls == [1]


def test_steps_that_keep_the_photo_leave_it_saved_and_the_original_stays():
    doc = Document()
    first = _photo(1)
    doc.open(first)
    strokes = [1]  # a stroke already painted
    doc.history.push(Step("Brush stroke", strokes.pop, lambda: strokes.append(1), changes_photo=False))
    assert doc.history.is_clean()  # nothing Save would write has changed
    doc.apply_edit(_photo(2), "edit")
    assert not doc.history.is_clean() and doc.original is first
    doc.history.set_clean()
    strokes.append(1)
    doc.history.push(Step("Brush stroke", strokes.pop, lambda: strokes.append(1), changes_photo=False))
    assert doc.history.is_clean()
    doc.history.undo()
    doc.history.undo()  # past the saved edit
    assert not doc.history.is_clean() and doc.photo is first and doc.original is first
    doc.open(_photo(3))
    assert doc.original is doc.photo
