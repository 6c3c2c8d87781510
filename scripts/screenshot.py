"""Render the main window with a photo and its blur-map overlay to a PNG (docs/screenshot.png).

    python scripts/screenshot.py                         # the bundled sample and model, offscreen
    python scripts/screenshot.py --photo P.jpg --model W.pt --out /tmp/shot.png --mode split
    python scripts/screenshot.py --panel Select --brush --out docs/guide/select.png   # a panel in use
    python scripts/screenshot.py --folder shoot/ --out docs/guide/filmstrip.png       # File > Open Folder

Uses temporary settings, so the user's preferences are neither read nor changed. Runs offscreen
unless QT_QPA_PLATFORM is set (e.g. run it under xvfb-run with QT_QPA_PLATFORM=xcb to see real fonts).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, help="photo to show (default: resources/samples/sample.jpg)")
    parser.add_argument("--model", default="compact", help="bundled model name or .pt file (default: compact)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--size", default="1440x900", help="window size WxH (default: 1440x900)")
    parser.add_argument("--mode", default="overlay", choices=("overlay", "map", "photo", "split"))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for detection")
    parser.add_argument("--panel", help="choose this Edit tab (Select, Magnify, Deblur) and wait for its preview")
    parser.add_argument("--settle", type=float, default=60.0, help="with --panel: seconds to wait at most for a preview")
    parser.add_argument("--brush", action="store_true", help="with --panel Select: turn the brush on (B)")
    parser.add_argument("--style", default="filled", choices=("filled", "hatched"), help="overlay style")
    parser.add_argument("--folder", type=Path, help="open this folder in the filmstrip (its first photo is shown)")
    parser.add_argument("--about", action="store_true", help="grab Help > About instead of the window")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from blurstudio.gui import settings as gui_settings
    from blurstudio.gui.app import make_application
    from blurstudio.gui.detection import DetectionSettings
    from blurstudio.gui.settings import Preferences
    from blurstudio.gui.window import MainWindow

    photo = args.photo or gui_settings.SAMPLE_PHOTO
    if args.folder is None and not photo.is_file():
        print(f"screenshot: {photo} does not exist (the sample photo is not installed yet; pass --photo)", file=sys.stderr)
        return 1
    if not gui_settings.model_available(args.model):
        print(f"screenshot: model {args.model} is not available (pass --model path/to/weights.pt)", file=sys.stderr)
        return 1

    app = make_application([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        prefs = Preferences(settings)
        prefs.set_detection(DetectionSettings(model=args.model))
        prefs.set_overlay_style(args.style)
        window = MainWindow(settings)
        width, height = (int(v) for v in args.size.lower().split("x"))
        window.resize(width, height)
        window.show()
        deadline = time.monotonic() + args.timeout

        def wait(condition, what: str) -> bool:
            while not condition():
                app.processEvents()
                time.sleep(0.01)
                if time.monotonic() > deadline:
                    print(f"screenshot: {what} did not finish in time", file=sys.stderr)
                    return False
            return True

        if args.folder is not None:
            window.folder.open_folder(args.folder)
            strip = window.folder.strip
            ready = wait(lambda: len(strip.verdicts) + sum("not read" in strip.list.item(i).text()
                                                           for i in range(strip.list.count())) == strip.list.count(), "culling")
        else:
            window.open_photo(photo, remember=False)
            ready = True
        ready = ready and wait(lambda: window.context.blurmap is not None and window.overlay.ready(), "detection")
        window.edit_dock.load_panels()
        if ready and args.panel:
            dock = window.edit_dock
            index = next(i for i in range(dock.tabs.count()) if dock.tabs.tabText(i) == args.panel)
            dock.tabs.setCurrentIndex(index)
            dock.tabs.tabBarClicked.emit(index)  # as the user's click: the panel starts (also when already shown)
            if args.brush:
                window.menus.brush_action.trigger()
            # A panel that shows no canvas preview of its own (Deblur's loupe) is grabbed after --settle seconds.
            settled = time.monotonic() + args.settle
            ready = wait(lambda: (window.context.preview is not None and not window._preview.running())
                         or time.monotonic() > settled, f"the {args.panel} preview")
        if not ready:
            window.shutdown()
            return 1
        if not args.panel:
            window.overlay.set_view_mode(args.mode)
        if window.context.photo is not None:  # hover readout: show the probabilities at the photo centre
            h, w = window.context.photo.shape[:2]
            window.overlay.show_hover(w // 2, h // 2)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.about:
            from blurstudio.gui.dialogs import AboutDialog
            from blurstudio.gui.settings import read_model_card

            about = AboutDialog(read_model_card(args.model), args.model, window)
            about.details_button.setChecked(True)
            about.show()
            for _ in range(20):
                app.processEvents()
                time.sleep(0.02)
            ok = about.grab().save(str(args.out))
        else:
            ok = window.grab().save(str(args.out))
        window.shutdown()
        window.close()
        QApplication.processEvents()
    print(f"{'wrote' if ok else 'could not write'} {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
