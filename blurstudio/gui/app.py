"""Start the desktop app: `python main.py [PHOTO]` or `blurstudio gui [PHOTO]`."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from .settings import APPLICATION, ORGANIZATION
from .window import MainWindow

STYLE_SHEET = """
QLabel#heading { color: palette(mid); font-size: 8pt; font-weight: 600; letter-spacing: 1px; margin-top: 2px; }
QLabel#hint { color: palette(mid); }
QLabel#error { color: #ff8a80; }
QFrame#separator { color: palette(dark); }
QFrame#banner { background: #4a3d1a; border-bottom: 1px solid #6b5a26; }
QFrame#banner QLabel { color: #f3e6c4; }
QDockWidget::title { padding: 6px 8px; background: palette(window); font-weight: 600; }
QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); }
QStatusBar QLabel { color: palette(mid); }
"""


def apply_theme(app: QApplication) -> None:
    """A dark neutral theme (Fusion), like most photo editors: colours are judged against grey."""
    app.setStyle("Fusion")
    p = QPalette()
    window, base, text = QColor(50, 50, 53), QColor(36, 36, 38), QColor(225, 225, 228)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(60, 60, 64))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(58, 58, 62))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 110, 100))
    p.setColor(QPalette.ColorRole.Highlight, QColor(64, 120, 200))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(110, 170, 240))
    p.setColor(QPalette.ColorRole.Mid, QColor(150, 150, 155))
    p.setColor(QPalette.ColorRole.Dark, QColor(30, 30, 32))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 130, 135))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 124))
    app.setPalette(p)
    app.setStyleSheet(STYLE_SHEET)


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused if one exists, e.g. under pytest-qt), named for QSettings."""
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    apply_theme(app)
    return app


def create_window(photo: str | Path | None = None, settings=None) -> MainWindow:
    """A shown main window that opens `photo` (a folder: in the filmstrip, as File > Open Folder),
    or the bundled sample without one."""
    window = MainWindow(settings)
    window.show()
    # Open after the first paint so the window appears at once.
    if photo is not None and Path(photo).is_dir():
        QTimer.singleShot(0, lambda: window.folder.open_folder(photo))
    elif photo is not None:
        QTimer.singleShot(0, lambda: window.open_photo(photo))
    else:
        QTimer.singleShot(0, window.open_sample)
    return window


def _quit_on_signals(app: QApplication) -> None:
    """Ctrl+C in the terminal (or SIGTERM) closes the window properly, saving the settings."""
    def close(*_args) -> None:
        for widget in app.topLevelWidgets():
            if isinstance(widget, MainWindow):
                widget.close()
        app.quit()

    signal.signal(signal.SIGINT, close)
    signal.signal(signal.SIGTERM, close)
    # Python only runs signal handlers between bytecodes; a idle timer gives it the chance.
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def main(argv: list[str] | None = None) -> int:
    """Run the app; argv = [PHOTO or FOLDER] (without the program name). Returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print("usage: python main.py [PHOTO | FOLDER]\n\nOpens Blur Studio with PHOTO, with FOLDER's photos "
              "in a filmstrip (each with a blur verdict), or with the bundled sample photo.")
        return 0
    photo = args[0] if args else None
    app = make_application(sys.argv[:1])
    window = create_window(photo)
    _quit_on_signals(app)
    code = app.exec()
    if not window.shutdown():
        # A worker is stuck in an uninterruptible step (e.g. loading a model); the settings are
        # saved and every file write is atomic, so leave without waiting for it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
