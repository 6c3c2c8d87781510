"""The main window end to end (pytest-qt, offscreen): open -> detect in a worker -> overlay ->
toggles/opacity -> export; cancel; errors keep the photo; the sample at start."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from blurstudio.blurmap import BlurMap
from blurstudio.gui import settings as gui_settings
from blurstudio.gui.app import create_window
from blurstudio.gui.canvas import ViewMode
from blurstudio.gui.detection import DetectorCache
from blurstudio.gui.window import MainWindow
from blurstudio.images import read_image

from gui_helpers import Dialogs, make_photo, render_canvas, temporary_settings

TIMEOUT = 20000


@pytest.fixture
def dialogs(monkeypatch):
    return Dialogs().install(monkeypatch)


@pytest.fixture(autouse=True)
def no_edit_panels(monkeypatch):
    """These tests are about the window; the registered panels have tests of their own."""
    monkeypatch.setattr("blurstudio.gui.panel_dock.panel_classes", lambda: [])


@pytest.fixture
def window(qtbot, tmp_path, tiny_model_path, dialogs):
    w = MainWindow(temporary_settings(tmp_path, model=str(tiny_model_path)))
    qtbot.addWidget(w)
    w.resize(900, 650)
    w.show()
    yield w
    w.shutdown()


def _wait_for_map(qtbot, w):
    qtbot.waitUntil(lambda: w.context.blurmap is not None and w.overlay.ready(), timeout=TIMEOUT)


def test_open_detect_overlay_toggles_and_export_match_the_cli(qtbot, window, tmp_path, tiny_model_path, dialogs):
    photo = make_photo(tmp_path / "photo.png")
    window.open_photo(photo)
    _wait_for_map(qtbot, window)
    result = window.detection.last_result
    assert result.worker_thread != threading.get_ident()  # the network ran off the GUI thread
    assert window.windowTitle().startswith("photo.png")
    assert window.canvas.overlay_item.isVisible() and window.canvas.overlay_item.pyramid is not None
    assert "%" in window.overlay.controls.percent_labels[1].text()
    assert "tiny" in window.detection.model_label.text() and "CPU" in window.detection.device_label.text()

    # Hovering shows the class probabilities under the cursor.
    from PySide6.QtCore import QPoint as _QPoint

    qtbot.mouseMove(window.canvas.viewport(), window.canvas.mapFromScene(20.0, 30.0))
    p = result.blurmap.probs[:, 30, 20]
    text = window.overlay.controls.hover_label.text()
    assert f"{p[1] * 100:.0f}%" in text and "x 20, y 30" in text
    qtbot.mouseMove(window.canvas.viewport(), _QPoint(1, 1))  # outside the photo

    # Make the map clearly visible so toggles and opacity have something to change.
    window.overlay.set_opacity(0.9)
    for i in range(3):
        window.overlay.set_class_visible(i, True)
    qtbot.waitUntil(window.overlay.ready, timeout=TIMEOUT)
    with_overlay = render_canvas(window)
    window.overlay.set_view_mode(ViewMode.PHOTO)
    photo_only = render_canvas(window)
    assert np.abs(with_overlay.astype(int) - photo_only.astype(int)).mean() > 5
    window.overlay.set_view_mode(ViewMode.OVERLAY)
    for i in range(3):
        window.overlay.set_class_visible(i, False)
    qtbot.waitUntil(window.overlay.ready, timeout=TIMEOUT)
    assert np.abs(render_canvas(window).astype(int) - photo_only.astype(int)).max() <= 2  # nothing tinted
    window.overlay.set_class_visible(1, True)
    window.overlay.set_class_visible(2, True)
    qtbot.waitUntil(window.overlay.ready, timeout=TIMEOUT)
    strong = render_canvas(window)
    window.overlay.set_opacity(0.2)
    weak = render_canvas(window)
    assert np.abs(strong.astype(int) - photo_only.astype(int)).mean() > np.abs(weak.astype(int) - photo_only.astype(int)).mean()
    window.overlay.set_view_mode(ViewMode.SPLIT)
    split = render_canvas(window)
    assert split.shape == weak.shape
    window.overlay.set_view_mode(ViewMode.MAP)
    assert np.abs(render_canvas(window).astype(int) - photo_only.astype(int)).mean() > 5

    # Export from the GUI and from the CLI: the same files with the same masks.
    from blurstudio.cli import main as cli_main

    gui_dir, cli_dir = tmp_path / "gui", tmp_path / "cli"
    gui_dir.mkdir()
    job = window.export_to(gui_dir)
    qtbot.waitUntil(lambda: not job.running, timeout=TIMEOUT)
    assert cli_main(["detect", str(photo), "-o", str(cli_dir), "--model", str(tiny_model_path), "--device", "cpu"]) == 0
    gui_files = sorted(p.name for p in gui_dir.iterdir())
    assert gui_files == sorted(p.name for p in cli_dir.iterdir()) == ["photo_blur.png", "photo_labels.png", "photo_overlay.jpg"]
    for name in ("photo_labels.png", "photo_blur.png"):
        assert np.array_equal(read_image(gui_dir / name), read_image(cli_dir / name))
    assert not [c for c in dialogs.calls if c[0] in ("warning", "critical")]


def test_export_never_replaces_the_source_photo(qtbot, window, tmp_path, dialogs):
    photo = make_photo(tmp_path / "pic.png")
    original = photo.read_bytes()
    window.open_photo(photo)
    _wait_for_map(qtbot, window)
    out = tmp_path / "out"
    out.mkdir()
    (out / "pic_labels.png").symlink_to(photo)  # an export path that is the source photo
    job = window.export_to(out)  # "replace?" is answered yes by the fake dialog
    qtbot.waitUntil(lambda: not job.running, timeout=TIMEOUT)
    assert photo.read_bytes() == original
    assert any(kind == "warning" and "Export failed" in title for kind, title, _ in dialogs.calls)


def test_result_is_cached_per_photo_and_settings(qtbot, window, tmp_path):
    photo = make_photo(tmp_path / "a.png")
    window.open_photo(photo)
    _wait_for_map(qtbot, window)
    first = window.context.blurmap
    window.open_photo(make_photo(tmp_path / "b.png", seed=1))
    qtbot.waitUntil(lambda: window.context.photo_path.name == "b.png" and window.context.blurmap is not None, timeout=TIMEOUT)
    window.open_photo(photo)
    qtbot.waitUntil(lambda: window.context.photo_path.name == "a.png" and window.context.blurmap is not None, timeout=TIMEOUT)
    assert window.context.blurmap is first and window.detection.time_label.text() == "cached"


class SlowDetector:
    """Stands in for Detector: runs until cancelled (checks like the real one, between steps)."""

    device_name, model_name, card = "CPU", "slow", {}

    class device:  # noqa: N801 - mimics torch.device
        type = "cpu"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image, progress=None, cancel=None):
        from blurstudio.detect import Cancelled

        self.calls += 1
        for i in range(2000):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            if progress:
                progress(min(0.99, i / 200))
            time.sleep(0.005)
        raise AssertionError("detection was never cancelled")


def test_cancel_stops_a_running_detection(qtbot, window, tmp_path, monkeypatch):
    slow = SlowDetector()
    monkeypatch.setattr(DetectorCache, "get", lambda self, settings, device=None: slow)
    window.open_photo(make_photo(tmp_path / "p.png"))
    qtbot.waitUntil(lambda: window.detection.is_running() and window.detection.progress_bar.value() > 0, timeout=TIMEOUT)
    job = window.detection.job
    assert window.cancel_button.isVisible() and window.cancel_button.text() == "Cancel"
    window.menus.cancel_action.trigger()
    assert not window.detection.is_running() and not window.detection.progress_bar.isVisible()
    qtbot.waitUntil(lambda: not job.running, timeout=5000)  # the worker stopped at its next check
    assert window.context.blurmap is None and window.context.photo is not None


class OomDetector(SlowDetector):
    """A GPU detector that runs out of memory."""

    device_name = "Fake GPU"

    class device:  # noqa: N801
        type = "cuda"

    def __call__(self, image, progress=None, cancel=None):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


class FixedDetector(SlowDetector):
    def __call__(self, image, progress=None, cancel=None):
        return BlurMap.from_labels(np.ones(image.shape[:2], np.uint8))


def test_gpu_out_of_memory_falls_back_to_the_cpu_with_a_notice(qtbot, window, tmp_path, monkeypatch):
    def get(self, settings, device=None):
        return FixedDetector() if device == "cpu" else OomDetector()

    monkeypatch.setattr(DetectorCache, "get", get)
    window.open_photo(make_photo(tmp_path / "p.png"))
    _wait_for_map(qtbot, window)
    assert window.banner.isVisible() and "out of memory" in window.banner.text.text()
    assert window.context.blurmap.fractions()["motion"] == 1.0


def test_a_worker_error_becomes_a_dialog_and_keeps_the_photo(qtbot, window, tmp_path, monkeypatch, dialogs):
    class Broken(SlowDetector):
        def __call__(self, image, progress=None, cancel=None):
            raise ValueError("the model exploded")

    monkeypatch.setattr(DetectorCache, "get", lambda self, settings, device=None: Broken())
    window.open_photo(make_photo(tmp_path / "p.png"))
    qtbot.waitUntil(lambda: bool(dialogs.calls), timeout=TIMEOUT)
    kind, title, text = dialogs.calls[0]
    assert "detection failed" in title.lower() and "the model exploded" in text
    assert window.context.photo is not None and not window.detection.is_running()


def test_a_corrupt_file_shows_an_error_and_keeps_the_open_photo(qtbot, window, tmp_path, dialogs):
    window.open_photo(make_photo(tmp_path / "good.png"))
    _wait_for_map(qtbot, window)
    photo, blurmap, title = window.context.photo, window.context.blurmap, window.windowTitle()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    window.open_photo(bad)
    qtbot.waitUntil(lambda: bool(dialogs.calls), timeout=TIMEOUT)
    kind, heading, text = dialogs.calls[0]
    assert kind == "warning" and "broken.jpg" in heading and "broken.jpg" in text
    assert window.context.photo is photo and window.context.blurmap is blurmap
    assert window.windowTitle() == title


def test_no_argument_start_shows_the_sample(qtbot, tmp_path, tiny_model_path, monkeypatch, dialogs):
    sample = gui_settings.SAMPLE_PHOTO  # the bundled one, or a stand-in while it is not installed
    if not sample.is_file():
        sample = make_photo(tmp_path / "sample.png")
        monkeypatch.setattr(gui_settings, "SAMPLE_PHOTO", sample)
    w = create_window(settings=temporary_settings(tmp_path, model=str(tiny_model_path)))
    qtbot.addWidget(w)
    try:
        _wait_for_map(qtbot, w)
        assert w.context.photo_path == sample and w.windowTitle().startswith(sample.name)
        assert w.prefs.recent_files() == []  # the sample is not a "recent file"
        qtbot.waitUntil(lambda: w.edit_dock.loaded, timeout=TIMEOUT)  # after the first paint
    finally:
        w.shutdown()


def test_a_folder_argument_opens_in_the_filmstrip(qtbot, tmp_path, tiny_model_path, monkeypatch, dialogs):
    from blurstudio.gui import filmstrip

    monkeypatch.setattr(filmstrip, "cache_folder", lambda folder: tmp_path / "cache")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for i in range(2):
        make_photo(shoot / f"p{i}.png", seed=i)
    monkeypatch.chdir(tmp_path)  # a relative folder, as typed in a terminal
    w = create_window("shoot", settings=temporary_settings(tmp_path, model=str(tiny_model_path)))
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.folder.has_photos() and w.context.photo_path is not None, timeout=TIMEOUT)
        assert w.folder.dock.isVisible() and w.folder.strip.list.count() == 2
        qtbot.waitUntil(lambda: len(w.folder.strip.verdicts) == 2, timeout=TIMEOUT)
        w.folder.photo_opened(shoot / "p1.png")  # as the window names a photo opened otherwise: absolute
        assert w.folder.strip.list.currentRow() == 1
        assert w.folder.verdict_label.toolTip().startswith("p1.png: ")
        assert not dialogs.calls
        assert w.folder.open_folder(tmp_path / "gone") == 0  # a folder that is not there: a message
        kind, heading, text = dialogs.calls[-1]
        assert "gone" in heading and "gone" in text
        assert w.folder.strip.list.count() == 2 and w.context.photo_path is not None  # what was open stays
    finally:
        w.shutdown()


def test_missing_sample_and_missing_model_give_clear_notices(qtbot, tmp_path, monkeypatch, dialogs):
    monkeypatch.setattr(gui_settings, "SAMPLE_PHOTO", tmp_path / "nowhere" / "sample.jpg")
    w = create_window(settings=temporary_settings(tmp_path, model="no_such_model"))
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: "not installed" in w.canvas.empty_text, timeout=TIMEOUT)
        assert w.banner.isVisible() and "no_such_model" in w.banner.text.text()
        w.open_photo(make_photo(tmp_path / "p.png"))  # photos still open without a model
        qtbot.waitUntil(lambda: w.context.photo is not None, timeout=TIMEOUT)
        assert not w.detection.is_running() and not dialogs.calls
    finally:
        w.shutdown()


def test_settings_persist_between_windows(qtbot, tmp_path, tiny_model_path, dialogs):
    settings = temporary_settings(tmp_path, model=str(tiny_model_path))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.overlay.set_opacity(0.3)
    w.overlay.set_class_visible(0, True)
    w.overlay.set_view_mode(ViewMode.SPLIT)
    w.prefs.add_recent_file(tmp_path / "x.png")
    w.shutdown()
    w2 = MainWindow(settings)
    qtbot.addWidget(w2)
    assert w2.overlay.opacity == pytest.approx(0.3) and w2.overlay.visible == (True, True, True) and w2.overlay.view_mode == ViewMode.SPLIT
    assert w2.prefs.recent_files()[0].endswith("x.png")
    assert w2.detection.settings.model == str(tiny_model_path)
    w2.shutdown()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_drop_opens_a_photo_and_recent_files_remember_it(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    photo = make_photo(tmp_path / "dropped.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    # Sent to the canvas, as a real drop would be: Qt passes it up to the window.
    target = window.canvas.viewport()
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    qtbot.waitUntil(lambda: window.context.photo_path == photo, timeout=TIMEOUT)
    window.menus.fill_recent_menu()
    assert window.menus.recent_menu.actions()[0].text().endswith("dropped.png")
    assert window.prefs.recent_files()[0] == str(photo.resolve())


def test_changing_settings_redetects_and_recolours(qtbot, window, tmp_path, tiny_model_path):
    from blurstudio.gui.detection import DetectionSettings
    from blurstudio.gui.settings import PALETTES

    window.open_photo(make_photo(tmp_path / "p.png"))
    _wait_for_map(qtbot, window)
    first = window.context.blurmap
    other_palette = [name for name in PALETTES if name != window.overlay.palette_name][0]
    window.apply_settings(DetectionSettings(model=str(tiny_model_path), device="cpu", max_side=64), other_palette)
    qtbot.waitUntil(lambda: window.context.blurmap is not first and window.context.blurmap is not None and window.overlay.ready(), timeout=TIMEOUT)
    assert window.context.blurmap.meta["max_side"] == 64
    assert window.overlay.controls.swatches[1].color.getRgb()[:3] == PALETTES[other_palette][1]
    assert window.prefs.detection().max_side == 64 and window.prefs.qsettings.value("detection/device") == "cpu"


def test_every_menu_action_that_does_something_has_a_shortcut(window):
    table = dict(window.menus.shortcut_table())
    for name in ("Open…", "Export Blur Masks…", "Undo", "Redo", "Settings…", "Overlay", "Map Only", "Photo Only",
                 "Before/After Split", "Show Motion Blur", "Zoom In", "Zoom Out", "Fit to Window", "Actual Size (100%)",
                 "Detect Blur", "Cancel Detection", "About Blur Studio", "Quit"):
        assert any(key.startswith(name) for key in table), name


def test_gui_command_and_main_py_start_the_app(monkeypatch, tmp_path):
    import runpy

    from blurstudio.cli import main as cli_main
    from blurstudio.gui import app

    calls = []
    monkeypatch.setattr(app, "main", lambda argv=None: calls.append(argv) or 0)
    assert cli_main(["gui", str(tmp_path / "x.jpg")]) == 0
    assert cli_main(["gui"]) == 0
    assert calls == [[str(tmp_path / "x.jpg")], []]
    main_py = runpy.run_path(str(gui_settings.RESOURCES.parent / "main.py"), run_name="not_main")
    assert main_py["main"]() == 0 and calls[-1] is None  # python main.py [PHOTO]: argv from sys.argv


def test_zoom_fit_actual_size_wheel_and_pan(qtbot, window, tmp_path):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    window.open_photo(make_photo(tmp_path / "big.png", h=900, w=1200))
    qtbot.waitUntil(lambda: window.canvas.has_photo(), timeout=TIMEOUT)
    canvas = window.canvas
    fit = canvas.zoom()
    assert 0 < fit < 1  # a big photo is shrunk to fit
    window.menus.actual_size_action.trigger()
    assert canvas.zoom() == pytest.approx(1.0)
    window.menus.zoom_in_action.trigger()
    assert canvas.zoom() == pytest.approx(1.25)
    window.menus.zoom_out_action.trigger()
    window.menus.zoom_out_action.trigger()
    assert canvas.zoom() == pytest.approx(0.8)
    centre = QPointF(canvas.viewport().width() / 2, canvas.viewport().height() / 2)
    wheel = QWheelEvent(centre, canvas.viewport().mapToGlobal(centre), QPoint(), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), wheel)
    assert canvas.zoom() == pytest.approx(1.0)
    before = canvas.horizontalScrollBar().value()
    vp = canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=QPoint(300, 200))
    qtbot.mouseMove(vp, pos=QPoint(200, 200))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    assert canvas.horizontalScrollBar().value() > before  # dragging left pans right
    window.menus.fit_action.trigger()
    assert canvas.zoom() == pytest.approx(fit)


def test_about_lists_every_member_of_an_ensemble_card():
    from blurstudio.gui.dialogs import about_html

    card = {"name": "pair", "training": {"members": [{"weights": "a.pt", "steps": 7000}, {"weights": "b.pt", "steps": 3000}]}}
    text = about_html(card, "pair")
    assert "training › members › 1 › weights" in text and "a.pt" in text
    assert "training › members › 2 › steps" in text and "3000" in text
