"""The filmstrip (pytest-qt): badges arrive from background culling, the filter hides, arrows step."""

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt

from blurstudio.gui import filmstrip
from blurstudio.gui.filmstrip import VERDICT_ROLE, FilmstripWidget


def test_filmstrip_culls_filters_and_steps(qtbot, tmp_path, tiny_model_path, monkeypatch):
    monkeypatch.setattr(filmstrip, "cache_folder", lambda folder: tmp_path / "cache")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(shoot / f"p{i}.jpg"), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    (shoot / "broken.jpg").write_bytes(b"junk")
    strip = FilmstripWidget(model=str(tiny_model_path), device="cpu")
    qtbot.addWidget(strip)
    messages, selected = [], []
    strip.statusMessage.connect(messages.append)
    strip.photoSelected.connect(selected.append)
    assert strip.open_folder(shoot) == 4
    qtbot.waitUntil(lambda: strip.worker is not None and strip.worker.isFinished(), timeout=60_000)
    qtbot.waitUntil(lambda: len(strip.verdicts) == 3)
    verdicts = [strip.list.item(i).data(VERDICT_ROLE) for i in range(4)]
    assert verdicts[0] is None and all(v is not None for v in verdicts[1:])  # broken.jpg sorts first
    assert "not read" in strip.list.item(0).text()

    shown = verdicts[1]
    strip.filter.setCurrentText(f"Only {shown}")
    hidden = [strip.list.item(i).isHidden() for i in range(4)]
    assert hidden[1] is False and all(h == (v is not None and v != shown) for h, v in zip(hidden, verdicts))
    strip.filter.setCurrentText("All photos")

    strip.list.setCurrentRow(1)
    strip.list.setFocus()
    qtbot.keyClick(strip.list, Qt.Key.Key_Right)
    assert strip.list.currentRow() == 2 and selected[-1] == Path(shoot / "p1.jpg")
    assert messages[-1].startswith("p1.jpg: ") and "keeper score" in messages[-1]
    strip.close()


def test_worker_queue_puts_the_given_photos_first(tmp_path):
    paths = [tmp_path / f"p{i}.jpg" for i in range(6)]
    worker = filmstrip.CullWorker(paths, tmp_path / "cache")
    worker.prioritise([paths[4], paths[2], paths[4], tmp_path / "not_in_the_folder.jpg"])
    assert list(worker._todo) == [paths[4], paths[2], paths[0], paths[1], paths[3], paths[5]]


def test_photos_scrolled_into_view_are_culled_next(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(filmstrip, "cache_folder", lambda folder: tmp_path / "cache")
    monkeypatch.setattr(filmstrip.CullWorker, "start", lambda self: None)  # keep the queue as it is
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for i in range(40):
        cv2.imwrite(str(shoot / f"p{i:02d}.jpg"), np.full((30, 40, 3), 128, np.uint8))
    strip = FilmstripWidget(device="cpu")
    qtbot.addWidget(strip)
    strip.resize(700, 220)
    strip.show()
    qtbot.waitExposed(strip)
    strip.open_folder(shoot)
    assert [p.name for p in strip.worker._todo][:2] == ["p00.jpg", "p01.jpg"]  # the first in view first
    bar = strip.list.horizontalScrollBar()
    bar.setValue(bar.maximum())
    queue = list(strip.worker._todo)
    # The current photo (p00) first, then those now in view: the strip's end, not the next in order.
    assert queue[0].name == "p00.jpg"
    start = int(queue[1].stem[1:])
    assert start >= 20, [p.name for p in queue]
    assert [p.stem for p in queue[1:41 - start]] == [f"p{i:02d}" for i in range(start, 40)]
    strip.stop()
