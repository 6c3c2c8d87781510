"""A filmstrip of a folder's photos with blur-verdict badges, a filter and background culling.

Self-contained, so a window adds it with a few lines (File > Open Folder):

    strip = FilmstripWidget(model="compact")
    strip.photoSelected.connect(window.open_photo)      # Path of the chosen photo
    strip.statusMessage.connect(window.statusBar().showMessage)
    strip.open_folder(folder)

Photos are culled in a background thread (`CullWorker`, the same `cull_batch.cull_photos` and cache
as `blurstudio cull`, so a folder culled once opens instantly): the photos in view first, and after
a scroll the newly visible ones. Left/Right arrow keys step through the photos (`step`); the chosen
photo's verdict goes to the status bar. Qt only here; the numbers come from blurstudio.cull.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from pathlib import Path

from PySide6.QtCore import QSize, QStandardPaths, Qt, QThread, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blurstudio.cull import KEEPERS, VERDICTS, CullConfig, Verdict, decide
from blurstudio.cull_batch import Result
from blurstudio.images import is_image_path
from blurstudio.report import BADGE

FILTERS = {"All photos": None, "Keepers only": set(KEEPERS), "Hide camera shake": set(VERDICTS) - {"camera shake"},
           "Hide blurred": set(VERDICTS) - {"camera shake", "missed focus"}}
FILTERS.update({f"Only {v}": {v} for v in VERDICTS})
PATH_ROLE = Qt.ItemDataRole.UserRole
VERDICT_ROLE = Qt.ItemDataRole.UserRole + 1


def cache_folder(folder: Path) -> Path:
    """Per-folder culling cache under the user's cache location (never inside the photo folder)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation) or str(Path.home() / ".cache")
    key = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:16]
    return Path(base) / "blurstudio-filmstrip" / key


class CullWorker(QThread):
    """Culls photos in the background; emits `culled(Result)` per photo and `failed(str)` if the
    model cannot load. `prioritise(paths)` puts photos first in line; `stop()` ends it after the
    current photo."""

    culled = Signal(object)
    failed = Signal(str)

    def __init__(self, paths: list[Path], out_dir: Path, model: str = "compact", device: str = "auto") -> None:
        super().__init__()
        self.paths, self.out_dir, self.model, self.device = paths, out_dir, model, device
        self._stop = False
        self._todo = deque(paths)
        self._lock = threading.Lock()  # _todo is changed by the GUI thread and read by this one

    def stop(self) -> None:
        self._stop = True

    def prioritise(self, paths: list[Path]) -> None:
        """Cull these photos (those still waiting) next, in this order."""
        with self._lock:
            first = [p for p in dict.fromkeys(paths) if p in self._todo]
            chosen = set(first)
            self._todo = deque(first + [p for p in self._todo if p not in chosen])

    def run(self) -> None:
        from blurstudio.cull_batch import Settings, cull_photos
        from blurstudio.detect import Detector

        try:
            det = Detector(self.model, device=self.device)
        except Exception as e:  # noqa: BLE001 - any load failure is shown, never a crash of the GUI
            self.failed.emit(f"could not load the model: {e}")
            return
        settings = Settings(str(det.card.get("sha256") or det.model_name), det.max_side, det.scales, det.flip)
        # One photo per call, so that a scroll can change what comes next. workers=0: the GUI process
        # stays one process; decoding is a small share next to the network.
        while not self._stop:
            with self._lock:
                if not self._todo:
                    return
                path = self._todo.popleft()
            for res in cull_photos([path], det.predict_small, settings, self.out_dir, workers=0):
                self.culled.emit(res)


class FilmstripWidget(QWidget):
    photoSelected = Signal(object)  # Path
    statusMessage = Signal(str)

    def __init__(self, model: str = "compact", device: str = "auto", config: CullConfig | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.device, self.config = model, device, config or CullConfig()
        self.worker: CullWorker | None = None
        self.verdicts: dict[Path, Verdict] = {}
        self.items: dict[Path, QListWidgetItem] = {}  # a result finds its item at once, however big the folder
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setIconSize(QSize(160, 110))
        # One cell size for every photo: a portrait's narrow icon otherwise cut its badge to "shallow focu".
        self.list.setGridSize(QSize(172, 140))
        self.list.setUniformItemSizes(True)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setFixedHeight(170)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.horizontalScrollBar().valueChanged.connect(self._prioritise_visible)
        self.filter = QComboBox()
        self.filter.addItems(list(FILTERS))
        self.filter.currentTextChanged.connect(self._apply_filter)
        self.progress = QLabel("")
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter)
        top.addStretch(1)
        top.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list)

    def open_folder(self, folder: str | Path) -> int:
        """List the folder's photos and start culling them; returns how many there are."""
        folder = Path(folder).expanduser().absolute()  # the window names photos absolutely (recent files, drops)
        paths = sorted(p for p in folder.iterdir() if p.is_file() and is_image_path(p))  # OSError: unchanged
        self.stop()
        self.list.clear()
        self.verdicts.clear()
        self.items.clear()
        for p in paths:
            item = QListWidgetItem(p.name)
            item.setData(PATH_ROLE, str(p))
            item.setToolTip(str(p))
            self.list.addItem(item)
            self.items[p] = item
        self.progress.setText(f"0/{len(paths)} culled" if paths else "no photos")
        if paths:
            self.worker = CullWorker(paths, cache_folder(folder), self.model, self.device)
            self.worker.culled.connect(self._culled)
            self.worker.failed.connect(self.statusMessage)
            self.list.setCurrentRow(0)
            self._prioritise_visible()
            self.worker.start()
        return len(paths)

    def select_path(self, path: str | Path) -> bool:
        """Make `path` the current photo without asking to open it (the window opened it already);
        False when it is not in the filmstrip."""
        item = self.items.get(Path(path).expanduser().absolute())
        self.list.blockSignals(True)
        self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if item is None:
            return False
        self.list.scrollToItem(item)
        self._announce(item)
        return True

    def step(self, delta: int) -> bool:
        """Choose the next (delta > 0) or previous shown photo; False at either end."""
        row = self.list.currentRow() + delta
        while 0 <= row < self.list.count():
            if not self.list.item(row).isHidden():
                self.list.setCurrentRow(row)
                return True
            row += delta
        return False

    def _prioritise_visible(self) -> None:
        """The photos in view (the current one first) are culled next."""
        if self.worker is None:
            return
        view = self.list.viewport().rect()
        shown = [self.list.item(i) for i in range(self.list.count())]
        shown = [item for item in shown if not item.isHidden() and self.list.visualItemRect(item).intersects(view)]
        current = self.list.currentItem()
        if current is not None:
            shown.insert(0, current)
        self.worker.prioritise([Path(item.data(PATH_ROLE)) for item in shown])

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker.wait()
            self.worker = None

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    def _culled(self, res: Result) -> None:
        item = self.items.get(res.path)
        if item is None:
            return
        if res.error:
            item.setText(f"{res.path.name}\nnot read")
            item.setToolTip(res.error)
        else:
            v = decide(res.measures, self.config)
            self.verdicts[res.path] = v
            item.setData(VERDICT_ROLE, v.verdict)
            item.setText(f"{v.verdict} · {v.score}")
            item.setBackground(QBrush(QColor(BADGE[v.verdict])))
            item.setForeground(QBrush(QColor("white")))
            item.setToolTip(f"{res.path.name}: {v.reason}")
            thumb = self.worker.out_dir / "thumbs" / f"{res.photo_id}.jpg" if self.worker else None
            if thumb is not None and thumb.is_file():
                item.setIcon(QIcon(QPixmap(str(thumb))))
        self.progress.setText(f"{len(self.verdicts)}/{self.list.count()} culled")
        if self._filtered_out(item, FILTERS.get(self.filter.currentText())):
            item.setHidden(True)
            self._prioritise_visible()  # a hidden photo makes room in view for others
        if item is self.list.currentItem():
            self._announce(item)  # the verdict only: the photo is open already

    @staticmethod
    def _filtered_out(item: QListWidgetItem, allowed: set[str] | None) -> bool:
        verdict = item.data(VERDICT_ROLE)
        # Photos not culled yet stay visible: hiding them would make the strip jump as badges arrive.
        return allowed is not None and verdict is not None and verdict not in allowed

    def _apply_filter(self, name: str) -> None:
        allowed = FILTERS.get(name)
        for item in self.items.values():
            item.setHidden(self._filtered_out(item, allowed))
        self._prioritise_visible()

    def _current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is None:
            return
        self._announce(item)
        self.photoSelected.emit(Path(item.data(PATH_ROLE)))
        self._prioritise_visible()

    def _announce(self, item: QListWidgetItem) -> None:
        """The photo's verdict for the status bar."""
        path = Path(item.data(PATH_ROLE))
        v = self.verdicts.get(path)
        self.statusMessage.emit(f"{path.name}: {v.verdict} (keeper score {v.score}): {v.reason}" if v
                                else f"{path.name}: not culled yet")
