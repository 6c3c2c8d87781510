"""Launch the Blur Studio GUI: `python main.py [PHOTO]`."""

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run from a checkout without installing


def main() -> int:
    if importlib.util.find_spec("blurstudio.gui.app") is None:
        print(
            "The Blur Studio GUI is not built yet (blurstudio/gui/app.py is missing).\n"
            "The command line works: blurstudio detect --help",
            file=sys.stderr,
        )
        return 1
    from blurstudio.gui.app import main as gui_main

    return gui_main() or 0


if __name__ == "__main__":
    sys.exit(main())
