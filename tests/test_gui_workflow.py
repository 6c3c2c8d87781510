"""The editing workflow in the window (pytest-qt, offscreen), issue 26: "Save changes?" on open, close
and quit; Save As / Export round trips; one undo history for edits and brush strokes, with its memory
budget; a window that fits a 1366x768 screen with every panel; settings reset on open; compare with
the original; brush keys; File > Open Folder with the filmstrip; About."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from blurstudio.gui import filmstrip
from blurstudio.gui.canvas import ViewMode
from blurstudio.gui.dialogs import AboutDialog
from blurstudio.gui.panels import PANELS
from blurstudio.gui.panels.magnify import MagnifyPanel
from blurstudio.gui.panels.select import SelectPanel
from blurstudio.gui.photo_save import ExportDialog
from blurstudio.gui.window import MainWindow
from blurstudio.images import read_image
from blurstudio.photo_export import EXIF_IFD, ORIENTATION

from gui_helpers import Dialogs, make_photo, render_canvas, temporary_settings
from test_photo_export import DATE_ORIGINAL, MAKE, camera_jpeg

TIMEOUT = 60000
Button = QMessageBox.StandardButton


@pytest.fixture
def dialogs(monkeypatch):
    return Dialogs().install(monkeypatch)


@pytest.fixture
def make_window(qtbot, tmp_path, tiny_model_path, monkeypatch, dialogs):
    """make_window(panels) -> a shown window with these edit panels; shut down after the test."""
    windows = []

    def make(panels=()):
        monkeypatch.setattr("blurstudio.gui.panel_dock.panel_classes", lambda: list(panels))
        w = MainWindow(temporary_settings(tmp_path, model=str(tiny_model_path)))
        qtbot.addWidget(w)
        w.resize(900, 650)
        w.show()
        w.edit_dock.load_panels()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.shutdown()


@pytest.fixture
def window(make_window):
    return make_window()


def save_dialog_starts(monkeypatch) -> list[str]:
    """Where each save dialog starts (the dialogs are cancelled)."""
    starts: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, title, start, filters: starts.append(start) or ("", ""))
    return starts


def open_and_wait(qtbot, w, path, blurmap=True):
    w.open_photo(path)
    qtbot.waitUntil(lambda: w.context.photo_path == path, timeout=TIMEOUT)
    if blurmap:
        qtbot.waitUntil(lambda: w.context.blurmap is not None and w.overlay.ready(), timeout=TIMEOUT)


def edit(w):
    w.context.apply_edit(255 - w.context.photo, "Invert")


def prompts(dialogs):
    return [title for kind, title, _ in dialogs.calls if title == "Save changes?"]


def test_unsaved_edits_prompt_on_open_close_and_quit(qtbot, window, tmp_path, dialogs, monkeypatch):
    a, b = make_photo(tmp_path / "a.png"), make_photo(tmp_path / "b.png", seed=1)
    open_and_wait(qtbot, window, a, blurmap=False)
    assert window.open_photo(b)  # nothing edited: no question
    qtbot.waitUntil(lambda: window.context.photo_path == b, timeout=TIMEOUT)
    assert prompts(dialogs) == []

    edit(window)
    edited = window.context.photo
    assert window.isWindowModified()
    dialogs.answer = Button.Cancel  # open, close and quit all keep the edits
    assert not window.open_photo(a)
    window.close()
    window.menus.quit_action.trigger()
    assert len(prompts(dialogs)) == 3 and window.isVisible()
    assert window.context.photo is edited and window.context.photo_path == b

    dialogs.answer = Button.Save  # saved first, then the other photo opens
    saved = tmp_path / "b_saved.png"
    monkeypatch.setattr(window.saver, "ask_path", lambda: str(saved))
    assert not window.open_photo(a)
    qtbot.waitUntil(lambda: window.context.photo_path == a, timeout=TIMEOUT)
    assert np.array_equal(read_image(saved), edited)

    edit(window)
    dialogs.answer = Button.Discard  # the edit is dropped
    assert window.open_photo(b)
    qtbot.waitUntil(lambda: window.context.photo_path == b, timeout=TIMEOUT)
    assert not window.isWindowModified()

    edit(window)
    dialogs.answer = Button.Save  # quit: saved, then the window closes
    monkeypatch.setattr(window.saver, "ask_path", lambda: str(tmp_path / "on_quit.png"))
    window.menus.quit_action.trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    assert (tmp_path / "on_quit.png").is_file()


def test_save_and_export_round_trip_keep_size_bit_depth_and_exif(qtbot, window, tmp_path, dialogs, monkeypatch):
    source, icc = camera_jpeg(tmp_path / "cam.jpg", h=60, w=90)
    open_and_wait(qtbot, window, source, blurmap=False)
    edit(window)
    edited = window.context.photo
    assert edited.shape == (90, 60, 3)  # turned upright by its EXIF orientation

    starts = save_dialog_starts(monkeypatch)  # the Save As dialog starts in the photo's folder
    window.menus.save_action.trigger()
    assert starts == [str(tmp_path / "cam_edited.jpg")]

    for name in ("out.jpg", "out.png", "out.tif"):
        job = window.saver.save_to(tmp_path / name)
        qtbot.waitUntil(lambda: not job.running, timeout=TIMEOUT)
        with Image.open(tmp_path / name) as im:
            exif = im.getexif()
            assert im.size == (60, 90) and im.info.get("icc_profile") == icc
            assert exif[MAKE] == "Canon" and exif.get(ORIENTATION, 1) == 1
            assert exif.get_ifd(EXIF_IFD)[DATE_ORIGINAL] == "2024:05:06 07:08:09"
    assert not window.isWindowModified()  # saved
    assert tifffile.imread(tmp_path / "out.tif").dtype == np.uint16
    assert np.array_equal(tifffile.imread(tmp_path / "out.tif") // 257, edited)
    assert np.array_equal(read_image(tmp_path / "out.png"), edited)

    def fill_in(dialog):  # Export: 16-bit TIFF chosen, JPEG quality remembered
        dialog.quality.setValue(70)
        dialog.format.setCurrentIndex(dialog.format.findData(".tif"))
        dialog.file.setText(str(tmp_path / "exported.jpg"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", fill_in)
    job = window.menus.export_photo_action.trigger() or window.saver.job
    qtbot.waitUntil(lambda: not job.running, timeout=TIMEOUT)
    assert tifffile.imread(tmp_path / "exported.tif").shape == (90, 60, 3) and window.prefs.jpeg_quality() == 70

    original = source.read_bytes()  # the original is replaced only when the user confirms
    dialogs.answer = Button.No
    assert window.saver.save_to(source) is None and source.read_bytes() == original
    dialogs.answer = Button.Yes
    job = window.saver.save_to(source)
    qtbot.waitUntil(lambda: not job.running, timeout=TIMEOUT)
    assert source.read_bytes() != original
    assert [title for _, title, _ in dialogs.calls].count("Replace the original?") == 2


def test_ctrl_z_undoes_a_brush_stroke_and_the_brush_keys(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window([SelectPanel])
    open_and_wait(qtbot, w, make_photo(tmp_path / "p.png"))
    panel = w.edit_dock.panels[0]
    w.menus.brush_action.trigger()  # B: the Select panel's brush
    assert panel.brush.isChecked() and w.context.brush_callback is not None
    size = panel.brush_size.value()
    w.menus.larger_brush_action.trigger()  # ]
    assert panel.brush_size.value() > size and w.context.brush_radius == panel.brush_radius()
    w.menus.smaller_brush_action.trigger()  # [
    assert panel.brush_size.value() == size and panel.brush_size_label.text().endswith("px")

    canvas = w.canvas
    start = canvas.mapFromScene(30.0, 40.0)
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas.viewport(), pos=start + QPoint(20, 0))
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=start + QPoint(20, 0))
    assert panel.scribbles.any() and "Brush stroke" in w.menus.undo_action.text()
    assert not w.isWindowModified()  # strokes change no pixel that Save writes
    w.menus.undo_action.trigger()  # Ctrl+Z
    assert not panel.scribbles.any()
    w.menus.redo_action.trigger()  # Ctrl+Shift+Z
    assert panel.scribbles.any()
    w.menus.brush_action.trigger()
    assert w.context.brush_callback is None


def test_the_history_drops_the_oldest_steps_past_its_memory_budget(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, make_photo(tmp_path / "p.png"), blurmap=False)
    ctx = window.context
    ctx.undo_stack.budget = 3 * ctx.photo.nbytes  # room for three edits
    states = [ctx.photo]
    for value in range(1, 6):
        ctx.apply_edit(np.full_like(ctx.photo, value), f"Fill {value}")
        states.append(ctx.photo)
    assert ctx.undo_stack.count() == 3 and ctx.undo_stack.nbytes() <= ctx.undo_stack.budget
    for _ in range(3):
        window.menus.undo_action.trigger()
    assert ctx.photo is states[2] and not window.menus.undo_action.isEnabled()  # edits 1 and 2 are gone
    assert window.isWindowModified()


def test_the_window_fits_a_1366x768_screen_with_every_panel(qtbot, make_window, tmp_path, monkeypatch):
    monkeypatch.setattr(QScreen, "availableGeometry", lambda self: QRect(0, 0, 1366, 768))
    w = make_window(PANELS)
    w.resize(1600, 1000)  # e.g. a size restored from a larger screen
    qtbot.waitUntil(lambda: w.height() <= 768, timeout=TIMEOUT)
    open_and_wait(qtbot, w, make_photo(tmp_path / "p.png", h=600, w=900))
    screen = QRect(0, 0, 1366, 768)
    for i in range(w.edit_dock.tabs.count()):
        w.edit_dock.tabs.setCurrentIndex(i)
        w.edit_dock.tabs.tabBarClicked.emit(i)
        qtbot.mouseMove(w.canvas.viewport(), w.canvas.mapFromScene(450.0, 300.0))
        qtbot.mouseMove(w.canvas.viewport(), w.canvas.mapFromScene(100.0, 500.0))
        qtbot.wait(50)
        assert screen.contains(w.frameGeometry()), (w.edit_dock.tabs.tabText(i), w.frameGeometry())
        assert w.minimumSizeHint().height() <= 768 and w.minimumSizeHint().width() <= 1366
        status = w.statusBar()
        assert status.isVisible() and w.rect().contains(status.geometry())
    w.folder.dock.show()  # the filmstrip too
    qtbot.wait(50)
    assert screen.contains(w.frameGeometry()) and w.rect().contains(w.statusBar().geometry())


def test_a_new_photo_starts_with_default_settings_and_nothing_applied(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window([MagnifyPanel])
    open_and_wait(qtbot, w, make_photo(tmp_path / "a.png"))
    panel = w.edit_dock.panels[0]
    default = panel.amount.setting()
    w.edit_dock.tabs.tabBarClicked.emit(0)
    panel.amount.set_setting(6.0)
    qtbot.waitUntil(lambda: w.context.preview is not None, timeout=TIMEOUT)  # the 6x preview shows

    open_and_wait(qtbot, w, make_photo(tmp_path / "b.png", seed=2))
    assert panel.amount.setting() == pytest.approx(default) and not panel.active
    qtbot.wait(200)
    assert w.context.preview is None and w.canvas.preview_item.pyramid is None  # the photo as it is

    w.apply_settings(w.detection.settings, w.overlay.palette_name, keep_edit_settings=True)
    panel.amount.set_setting(6.0)
    open_and_wait(qtbot, w, make_photo(tmp_path / "c.png", seed=3))
    assert panel.amount.setting() == pytest.approx(6.0, rel=0.02) and w.context.preview is None

    starts = save_dialog_starts(monkeypatch)  # a panel's save dialog starts in the photo's folder, not home
    panel.ask_save_path("Export", "_magnified.jpg", "JPEG (*.jpg)")
    assert starts == [str(tmp_path / "c_magnified.jpg")]


def test_compare_shows_the_original_photo(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window([MagnifyPanel])
    open_and_wait(qtbot, w, make_photo(tmp_path / "p.png"))
    w.overlay.set_view_mode(ViewMode.PHOTO)
    original = render_canvas(w).astype(int)
    w.overlay.set_view_mode(ViewMode.OVERLAY)
    w.overlay.set_opacity(0.9)
    for i in range(3):
        w.overlay.set_class_visible(i, True)
    edit(w)
    qtbot.waitUntil(lambda: not w._pyramid.running() and w.overlay.ready(), timeout=TIMEOUT)
    assert np.abs(render_canvas(w) - original).mean() > 20  # tinted and inverted

    w.menus.compare_action.trigger()  # the \\ key
    assert np.abs(render_canvas(w) - original).max() <= 2
    w.menus.compare_action.trigger()
    assert np.abs(render_canvas(w) - original).mean() > 20

    panel = w.edit_dock.panels[0]  # Magnify's "Hold to compare": the original, not the overlay
    w.edit_dock.tabs.tabBarClicked.emit(0)
    panel.compare.setEnabled(True)
    qtbot.mousePress(panel.compare, Qt.MouseButton.LeftButton)
    assert w.context.comparing and np.abs(render_canvas(w) - original).max() <= 2
    qtbot.mouseRelease(panel.compare, Qt.MouseButton.LeftButton)
    assert not w.context.comparing


def test_hatched_overlay_is_a_setting(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, make_photo(tmp_path / "p.png"))
    for i in range(3):
        window.overlay.set_class_visible(i, True)
    qtbot.waitUntil(window.overlay.ready, timeout=TIMEOUT)
    filled = render_canvas(window).astype(int)
    window.apply_settings(window.detection.settings, window.overlay.palette_name, style="hatched")
    qtbot.waitUntil(window.overlay.ready, timeout=TIMEOUT)
    assert window.prefs.overlay_style() == "hatched" and np.abs(render_canvas(window) - filled).mean() > 3


def test_open_folder_shows_the_filmstrip_steps_with_the_arrows_and_shows_the_verdict(qtbot, window, tmp_path, monkeypatch, dialogs):
    monkeypatch.setattr(filmstrip, "cache_folder", lambda folder: tmp_path / "cache")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    photos = [make_photo(shoot / f"p{i}.png", seed=i) for i in range(3)]
    assert window.folder.open_folder(shoot) == 3 and window.folder.dock.isVisible()
    qtbot.waitUntil(lambda: window.context.photo_path == photos[0], timeout=TIMEOUT)  # the first photo opens
    strip = window.folder.strip
    qtbot.waitUntil(lambda: len(strip.verdicts) == 3, timeout=TIMEOUT)
    assert "p0.png: " in window.folder.verdict_label.toolTip() and "keeper score" in window.folder.verdict_label.toolTip()

    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)  # the arrow keys step through the folder
    qtbot.waitUntil(lambda: window.context.photo_path == photos[1], timeout=TIMEOUT)
    assert window.folder.verdict_label.toolTip().startswith("p1.png: ")
    window.menus.previous_action.trigger()
    qtbot.waitUntil(lambda: window.context.photo_path == photos[0], timeout=TIMEOUT)

    edit(window)  # unsaved edits and Cancel: the photo and the filmstrip's choice stay
    dialogs.answer = Button.Cancel
    window.menus.next_action.trigger()
    assert window.context.photo_path == photos[0] and strip.list.currentRow() == 0


def test_about_shows_name_version_and_training_data_with_details_behind_an_expander(qtbot):
    card = {"name": "compact", "sha256": "ab" * 32, "metrics": {"miou": 0.82},
            "training": {"data_sources": {"photos": ["../shared/data/bsds500_test"], "exclude": ["x.txt"]}}}
    dialog = AboutDialog(card, "compact")
    qtbot.addWidget(dialog)
    summary = dict(dialog.summary)
    assert summary["Model"] == "compact" and summary["Version"] == "weights abababababab"
    assert "bsds500_test" in summary["Training data"] and "x.txt" not in summary["Training data"]
    assert not dialog.details.isVisibleTo(dialog)
    dialog.details_button.setChecked(True)
    assert dialog.details.isVisibleTo(dialog) and "miou" in dialog.details.toPlainText()
