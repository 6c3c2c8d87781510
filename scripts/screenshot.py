"""Render the main window with a photo and its blur-map overlay to a PNG (docs/screenshot.png).

    python scripts/screenshot.py                         # the bundled sample and model, offscreen
    python scripts/screenshot.py --photo P.jpg --model W.pt --out /tmp/shot.png --mode split

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
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from blurstudio.gui import settings as gui_settings
    from blurstudio.gui.app import make_application
    from blurstudio.gui.detection import DetectionSettings
    from blurstudio.gui.settings import Preferences
    from blurstudio.gui.window import MainWindow

    photo = args.photo or gui_settings.SAMPLE_PHOTO
    if not photo.is_file():
        print(f"screenshot: {photo} does not exist (the sample photo is not installed yet; pass --photo)", file=sys.stderr)
        return 1
    if not gui_settings.model_available(args.model):
        print(f"screenshot: model {args.model} is not available (pass --model path/to/weights.pt)", file=sys.stderr)
        return 1

    app = make_application([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        Preferences(settings).set_detection(DetectionSettings(model=args.model))
        window = MainWindow(settings)
        width, height = (int(v) for v in args.size.lower().split("x"))
        window.resize(width, height)
        window.show()
        window.open_photo(photo, remember=False)
        deadline = time.monotonic() + args.timeout
        while not (window.context.blurmap is not None and window.overlay.ready()):
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() > deadline:
                print("screenshot: detection did not finish in time", file=sys.stderr)
                window.shutdown()
                return 1
        window.overlay.set_view_mode(args.mode)
        if window.context.photo is not None:  # hover readout: show the probabilities at the photo centre
            h, w = window.context.photo.shape[:2]
            window.overlay.show_hover(w // 2, h // 2)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(args.out))
        window.shutdown()
        window.close()
        QApplication.processEvents()
    print(f"{'wrote' if ok else 'could not write'} {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
