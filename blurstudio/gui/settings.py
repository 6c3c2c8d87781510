"""Persistent preferences (QSettings) and the bundled resources the app looks for.

Settings live in an INI file under the user's config folder ("BlurStudio/Blur Studio.ini"); tests
pass their own QSettings (a temporary file) to the main window instead.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from blurstudio.errors import WeightsError
from blurstudio.model.card import WEIGHTS_DIR as WEIGHTS_DIR  # for the dialogs
from blurstudio.model.card import bundled_models as bundled_models  # for the dialogs
from blurstudio.model.card import is_weights_file, read_card, weights_path
from blurstudio.photo_export import DEFAULT_QUALITY

from .detection import DetectionSettings

ORGANIZATION = "BlurStudio"
APPLICATION = "Blur Studio"
RESOURCES = Path(__file__).resolve().parents[2] / "resources"
SAMPLE_PHOTO = RESOURCES / "samples" / "sample.jpg"
DEFAULT_MODEL = "compact"
MAX_RECENT = 10

# Overlay palettes (sharp, motion, defocus). The default is Okabe-Ito, safe for colour-blind viewers.
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "Okabe-Ito (colour-blind safe)": ((0, 158, 115), (230, 159, 0), (86, 180, 233)),
    "Vivid": ((40, 200, 80), (255, 60, 40), (60, 110, 255)),
    "Magenta / cyan": ((250, 230, 60), (230, 40, 200), (0, 200, 230)),
}
DEFAULT_PALETTE = "Okabe-Ito (colour-blind safe)"
# How the overlay marks the classes: "hatched" adds a texture (motion /, defocus \\) with dark gaps,
# which stays legible where a tint alone is lost in the scene's own colours (orange on a yellow wall).
OVERLAY_STYLES = {"filled": "Filled tint", "hatched": "Hatched (legible on any colours)"}
DEFAULT_STYLE = "filled"


def app_settings() -> QSettings:
    """The user's settings file."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def model_display_name(model: str) -> str:
    return Path(model).name if is_weights_file(model) else model


def model_available(model: str) -> bool:
    path = weights_path(model)
    return path.is_file() and path.with_suffix(".json").is_file()


def missing_model_notice(model: str) -> str:
    """What to tell the user when `model_available(model)` is False."""
    if is_weights_file(model):
        return f"The weights file {model} (or its .json model card) is missing, so blur cannot be detected."
    return (
        f"The bundled model “{model}” is not installed yet (resources/weights/{model}.pt). "
        "Photos open normally; to detect blur, choose a weights file."
    )


def read_model_card(model: str) -> dict | None:
    """The model card beside the weights (read without loading the network), or None if it is
    missing or not a valid card."""
    try:
        return read_card(weights_path(model))
    except WeightsError:
        return None


def _to_bool(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")


class Preferences:
    """Typed access to the values the app keeps between runs."""

    def __init__(self, settings: QSettings) -> None:
        self.qsettings = settings

    def _get(self, key: str, default=None):
        value = self.qsettings.value(key, default)
        return default if value is None else value

    # detection
    def detection(self) -> DetectionSettings:
        model = str(self._get("detection/model", DEFAULT_MODEL))
        device = str(self._get("detection/device", "auto"))
        try:
            max_side = int(self._get("detection/max_side", 0)) or None
        except (TypeError, ValueError):
            max_side = None
        return DetectionSettings(model=model, device=device, max_side=max_side)

    def set_detection(self, settings: DetectionSettings) -> None:
        self.qsettings.setValue("detection/model", settings.model)
        self.qsettings.setValue("detection/device", settings.device)
        self.qsettings.setValue("detection/max_side", int(settings.max_side or 0))

    # overlay
    def opacity(self) -> float:
        try:
            return max(0.0, min(1.0, float(self._get("overlay/opacity", 0.55))))
        except (TypeError, ValueError):
            return 0.55

    def visible(self) -> tuple[bool, bool, bool]:
        defaults = (False, True, True)  # sharp untinted by default: the eye goes to the blur
        return tuple(_to_bool(self._get(f"overlay/show_{i}"), d) for i, d in enumerate(defaults))  # type: ignore[return-value]

    def palette_name(self) -> str:
        name = str(self._get("overlay/palette", DEFAULT_PALETTE))
        return name if name in PALETTES else DEFAULT_PALETTE

    def overlay_style(self) -> str:
        style = str(self._get("overlay/style", DEFAULT_STYLE))
        return style if style in OVERLAY_STYLES else DEFAULT_STYLE

    def set_overlay_style(self, style: str) -> None:
        self.qsettings.setValue("overlay/style", style)

    def view_mode(self) -> str:
        return str(self._get("overlay/view_mode", "overlay"))

    def save_overlay(self, opacity: float, visible: tuple[bool, bool, bool], palette: str, view_mode: str) -> None:
        self.qsettings.setValue("overlay/opacity", float(opacity))
        for i, v in enumerate(visible):
            self.qsettings.setValue(f"overlay/show_{i}", bool(v))
        self.qsettings.setValue("overlay/palette", palette)
        self.qsettings.setValue("overlay/view_mode", view_mode)

    # editing
    def keep_edit_settings(self) -> bool:
        """Keep the panels' settings when another photo opens (by default they go back to their defaults)."""
        return _to_bool(self._get("edit/keep_settings"), False)

    def set_keep_edit_settings(self, on: bool) -> None:
        self.qsettings.setValue("edit/keep_settings", bool(on))

    def jpeg_quality(self) -> int:
        try:
            return max(1, min(100, int(self._get("save/jpeg_quality", DEFAULT_QUALITY))))
        except (TypeError, ValueError):
            return DEFAULT_QUALITY

    def set_jpeg_quality(self, quality: int) -> None:
        self.qsettings.setValue("save/jpeg_quality", int(quality))

    # folders and files
    def folder(self, kind: str) -> str:
        """kind: 'open', 'export' (blur masks), 'save' (the photo) or 'folder' (File > Open Folder)."""
        return str(self._get(f"folders/{kind}", str(Path.home())))

    def set_folder(self, kind: str, folder: str | Path) -> None:
        self.qsettings.setValue(f"folders/{kind}", str(folder))

    def export_probs(self) -> bool:
        return _to_bool(self._get("export/probs"), False)

    def set_export_probs(self, on: bool) -> None:
        self.qsettings.setValue("export/probs", bool(on))

    def recent_files(self) -> list[str]:
        value = self._get("recent/files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value if v][:MAX_RECENT]

    def add_recent_file(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != path]
        files.insert(0, path)
        self.qsettings.setValue("recent/files", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent_files(self) -> None:
        self.qsettings.setValue("recent/files", [])

    def sync(self) -> None:
        self.qsettings.sync()
