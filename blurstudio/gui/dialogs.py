"""Settings and About dialogs."""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from blurstudio import __version__

from .detection import DetectionSettings
from .settings import (
    DEFAULT_STYLE,
    OVERLAY_STYLES,
    PALETTES,
    WEIGHTS_DIR,
    bundled_models,
    is_weights_file,
    model_available,
    model_display_name,
)

DEVICES = (("auto", "Automatic (GPU if available)"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"), ("mps", "Apple GPU (MPS)"))
WORKING_SIDES = (None, 384, 512, 640, 768, 1024, 1536, 2048)
WEIGHTS_FILE = "__file__"  # the model combo entry for "a weights file"


class SettingsDialog(QDialog):
    """Model (bundled or a weights file), device, working resolution and overlay palette."""

    def __init__(self, detection: DetectionSettings, palette: str, style: str = DEFAULT_STYLE, keep_settings: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)

        self.model_combo = QComboBox()
        for name in bundled_models():
            self.model_combo.addItem(f"Bundled: {name}", name)
        self.model_combo.addItem("Weights file…", WEIGHTS_FILE)
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("path/to/weights.pt (with its .json model card beside it)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights_edit, 1)
        weights_row.addWidget(browse)
        self.weights_widget = QWidget()
        self.weights_widget.setLayout(weights_row)
        weights_row.setContentsMargins(0, 0, 0, 0)
        index = self.model_combo.findData(detection.model)
        if index < 0:
            index = self.model_combo.findData(WEIGHTS_FILE)
            if is_weights_file(detection.model):
                self.weights_edit.setText(detection.model)
        self.model_combo.setCurrentIndex(index)
        self.model_combo.currentIndexChanged.connect(self._update_weights_row)
        form.addRow("Model", self.model_combo)
        form.addRow("", self.weights_widget)
        if not bundled_models():
            note = QLabel("No bundled model is installed yet: choose a weights file (.pt with its .json card).")
            note.setToolTip(f"Bundled models live in {WEIGHTS_DIR}")
            note.setWordWrap(True)
            note.setObjectName("hint")
            form.addRow("", note)

        self.device_combo = QComboBox()
        for value, label in DEVICES:
            self.device_combo.addItem(label + _availability(value), value)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(detection.device)))
        form.addRow("Device", self.device_combo)

        self.side_combo = QComboBox()
        for side in WORKING_SIDES:
            self.side_combo.addItem("Model default" if side is None else f"{side} px long side", side or 0)
        self.side_combo.setCurrentIndex(max(0, self.side_combo.findData(detection.max_side or 0)))
        self.side_combo.setToolTip(
            "The network sees the photo at this size; the map is then refined to full resolution.\n"
            "Larger finds smaller blurred regions but takes longer."
        )
        form.addRow("Working resolution", self.side_combo)

        self.palette_combo = QComboBox()
        self.palette_combo.addItems(list(PALETTES))
        self.palette_combo.setCurrentText(palette)
        form.addRow("Overlay colours", self.palette_combo)
        self.style_combo = QComboBox()
        for key, label in OVERLAY_STYLES.items():
            self.style_combo.addItem(label, key)
        self.style_combo.setCurrentIndex(max(0, self.style_combo.findData(style)))
        self.style_combo.setToolTip("Hatched marks motion (/) and defocus (\\) by texture as well as colour:\n"
                                    "legible on warm and cool scenes alike (e.g. an orange tint on a yellow wall)")
        form.addRow("Overlay style", self.style_combo)
        self.keep_check = QCheckBox("Keep edit settings when opening another photo")
        self.keep_check.setChecked(keep_settings)
        self.keep_check.setToolTip("Off: the Select, Magnify and Deblur settings go back to their defaults for each photo")
        form.addRow("", self.keep_check)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self._update_weights_row()

    def _update_weights_row(self) -> None:
        self.weights_widget.setVisible(self.model_combo.currentData() == WEIGHTS_FILE)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a weights file", self.weights_edit.text(), "PyTorch weights (*.pt)")
        if path:
            self.weights_edit.setText(path)

    def _accept(self) -> None:
        if self.model_combo.currentData() == WEIGHTS_FILE:
            path = self.weights_edit.text().strip()
            if not path or not model_available(str(Path(path).expanduser())):
                self.error_label.setText(
                    f"{path or 'No file chosen'}: a weights file (.pt) with its model card (.json) beside it is needed."
                )
                return
        self.accept()

    def detection_settings(self) -> DetectionSettings:
        model = self.model_combo.currentData()
        if model == WEIGHTS_FILE:
            model = str(Path(self.weights_edit.text().strip()).expanduser().resolve())
        return DetectionSettings(model=model, device=self.device_combo.currentData(), max_side=self.side_combo.currentData() or None)

    def palette_name(self) -> str:
        return self.palette_combo.currentText()

    def style(self) -> str:
        return self.style_combo.currentData()

    def keep_settings(self) -> bool:
        return self.keep_check.isChecked()


def _availability(device: str) -> str:
    torch = sys.modules.get("torch")  # only if the engine is already loaded: never slow the dialog down
    if torch is None or device in ("auto", "cpu"):
        return ""
    if device == "cuda":
        return "" if torch.cuda.is_available() else " — not available"
    mps = getattr(torch.backends, "mps", None)
    return "" if mps is not None and mps.is_available() else " — not available"


FIRST_KEYS = ("name", "description", "metrics", "working_max_side", "working_scales", "working_flip", "training", "architecture")


def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """Nested card entries -> ("training › data › crop", "224") rows; long lists are summarised."""
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, sub in value.items():
            rows += _flatten(sub, f"{prefix} › {key}" if prefix else str(key))
        return rows
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):  # e.g. an ensemble's members
        rows = []
        for i, sub in enumerate(value, 1):
            rows += _flatten(sub, f"{prefix} › {i}")
        return rows
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value) if all(not isinstance(v, (dict, list)) for v in value) else json.dumps(value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    if len(text) > 160:
        text = text[:157] + "…"
    return [(prefix, text)]


def model_summary(card: dict | None, model: str) -> list[tuple[str, str]]:
    """(label, one line) for the model's name, version and training data, as About shows them."""
    if card is None:
        return [("Model", f"{model_display_name(model)} (not installed)")]
    sha = str(card.get("sha256", ""))
    version = str(card.get("version") or (f"weights {sha[:12]}" if sha else "not recorded"))
    training = card.get("training") if isinstance(card.get("training"), dict) else {}
    sources = training.get("data_sources") or training.get("data") or "not recorded"
    if isinstance(sources, dict):  # {"photos": [paths], "objects": [...], "exclude": [...]}: the data sets by name
        sources = "; ".join(f"{kind} {', '.join(Path(str(p)).name for p in paths)}"
                            for kind, paths in sources.items() if kind != "exclude" and isinstance(paths, list) and paths)
        sources = f"synthetic blur composited from {sources}" if sources else "not recorded"
    return [("Model", str(card.get("name") or model_display_name(model))), ("Version", version), ("Training data", str(sources))]


def about_html(card: dict | None, model: str) -> str:
    """The About dialog's details: the paper and the model card of the model in use, entry by entry."""
    parts = [
        "<p>Blur detection: Kim, Son, Park, Cho and Lee, <i>Defocus and Motion Blur Detection with Deep "
        "Contextual Features</i>, Computer Graphics Forum (Pacific Graphics) 2018.</p>",
        "<h3>Model card</h3>",
    ]
    if card is None:
        parts.append(f"<p>No model card: the model <b>{html.escape(model)}</b> is not installed.</p>")
        return "".join(parts)
    keys = [k for k in FIRST_KEYS if k in card] + [k for k in card if k not in FIRST_KEYS]
    rows = []
    for key in keys:
        value = card[key]
        if key == "sha256":
            value = str(value)[:16] + "…"
        for label, text in _flatten(value, key):
            rows.append(
                f"<tr><td valign='top' style='color:gray; padding-right:12px; white-space:nowrap'>{html.escape(label)}</td>"
                f"<td valign='top'>{html.escape(text)}</td></tr>"
            )
    parts.append("<table cellspacing='2'>" + "".join(rows) + "</table>")
    return "".join(parts)


class AboutDialog(QDialog):
    """The app and its version, the model's name, version and training data one line each; the model
    card's entries behind a Details expander."""

    def __init__(self, card: dict | None, model: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Blur Studio")
        title = QLabel(f"<h2>Blur Studio {html.escape(__version__)}</h2>"
                       "<p>Finds and edits motion and defocus blur in photos, pixel by pixel.</p>")
        title.setWordWrap(True)
        form = QFormLayout()
        self.summary = model_summary(card, model)
        for label, text in self.summary:
            line = QLabel(text)
            line.setWordWrap(True)
            line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{label}:", line)
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setAutoRaise(True)
        self.details = QTextBrowser()
        self.details.setOpenExternalLinks(True)
        self.details.setHtml(about_html(card, model))
        self.details.setVisible(False)
        self.details.setMinimumHeight(260)
        self.details_button.toggled.connect(self._toggle_details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons, 0, Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(520)

    def _toggle_details(self, on: bool) -> None:
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.details.setVisible(on)
        self.adjustSize()
