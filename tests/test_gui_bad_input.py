"""The GUI's side of issue 27: a photo that fails to open (generated bad files), a weights file
that fails to load, a full disk on export: a clear message each time, the open document untouched."""

from __future__ import annotations

import errno
import os

import pytest

from blurstudio.gui.window import MainWindow

from gui_helpers import Dialogs, make_photo, temporary_settings

TIMEOUT = 20000


@pytest.fixture
def dialogs(monkeypatch):
    return Dialogs().install(monkeypatch)


@pytest.fixture
def window(qtbot, tmp_path, tiny_model_path, dialogs, monkeypatch):
    monkeypatch.setattr("blurstudio.gui.panel_dock.panel_classes", lambda: [])
    w = MainWindow(temporary_settings(tmp_path, model=str(tiny_model_path)))
    qtbot.addWidget(w)
    w.resize(900, 650)
    w.show()
    w.open_photo(make_photo(tmp_path / "good.png"))
    qtbot.waitUntil(lambda: w.context.blurmap is not None, timeout=TIMEOUT)
    yield w
    w.shutdown()


def _bad_files(folder):
    """Files a user may try to open that are not photos we can read, and paths that are not files."""
    folder.mkdir()
    good = make_photo(folder / "source.png").read_bytes()
    files = {"empty.jpg": b"", "cut.png": good[: len(good) // 3], "junk.tif": os.urandom(200),
             "text.webp": b"hello", "zero_header.png": bytes(16) + good[16:]}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    os.mkfifo(folder / "pipe.jpg")
    return [folder / n for n in files] + [folder / "pipe.jpg", folder / "missing.jpg", folder / ("x" * 300 + ".jpg"), folder]


def test_every_bad_file_is_a_message_and_the_photo_stays(qtbot, window, tmp_path, dialogs):
    photo, blurmap = window.context.photo, window.context.blurmap
    for path in _bad_files(tmp_path / "bad"):
        dialogs.calls.clear()
        window.open_photo(path)
        qtbot.waitUntil(lambda: bool(dialogs.calls), timeout=TIMEOUT)
        kind, heading, text = dialogs.calls[0]
        assert kind == "warning" and "Traceback" not in text, (path.name, text)
        assert "The current photo stays open." in text
        assert window.context.photo is photo and window.context.blurmap is blurmap


def test_a_full_disk_on_export_is_a_message_and_leaves_no_file(qtbot, window, tmp_path, dialogs, monkeypatch):
    import blurstudio.images as images

    def disk_full(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(images.Image.Image, "save", disk_full)
    out = tmp_path / "masks"
    out.mkdir()
    job = window.export_to(out)
    assert job is not None
    qtbot.waitUntil(lambda: bool(dialogs.calls), timeout=TIMEOUT)
    kind, heading, text = dialogs.calls[-1]
    assert heading == "Export failed" and "No space left on device" in text
    assert list(out.iterdir()) == []  # no half-written masks, no temporary files
    assert window.context.blurmap is not None


def test_weights_that_fail_to_load_are_a_message_and_the_photo_stays(qtbot, window, tmp_path, dialogs, tiny_model_path):
    import json

    from blurstudio.gui.detection import DetectionSettings

    bad = tmp_path / "bad.pt"
    bad.write_bytes(tiny_model_path.read_bytes())
    card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    card["working_scales"] = 3
    bad.with_suffix(".json").write_text(json.dumps(card))
    photo = window.context.photo
    window.apply_settings(DetectionSettings(model=str(bad), device="cpu", max_side=None), window.overlay.palette_name)
    qtbot.waitUntil(lambda: bool(dialogs.calls), timeout=TIMEOUT)
    kind, heading, text = dialogs.calls[-1]
    assert heading == "Blur detection failed" and "'working_scales' must be" in text and "The photo stays open" in text
    assert window.context.photo is photo
