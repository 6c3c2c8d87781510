"""The Edit dock: the registered editing panels as tabs, loaded after the window first paints, and
which of them the user is working in (see `panels/base.py` for the panels' side)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QScrollArea, QTabWidget, QWidget

from .context import EditorContext
from .layout import scrolling

if TYPE_CHECKING:
    from .panels.base import EditPanel

DOCK_FEATURES = QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable


def panel_classes() -> list[type]:
    """The registered editing panels (importing them and their libraries)."""
    from .panels import PANELS

    return list(PANELS)


def hint(text: str) -> QLabel:
    """A grey word-wrapped note in place of a panel."""
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setContentsMargins(10, 10, 10, 10)
    return label


class PanelDock(QDockWidget):
    """Hosts the panels. A panel becomes active when the user starts using it (chooses its tab, or
    clicks or focuses a control in it; never at startup, so the blur map shows first)."""

    def __init__(self, context: EditorContext, show_error: Callable[[str, str], None], parent: QWidget | None = None) -> None:
        super().__init__("Edit", parent)
        self.setObjectName("edit_dock")
        self.setFeatures(DOCK_FEATURES)
        self.context, self._show_error = context, show_error
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(hint("Loading editing tools…"), "Edit")
        self.setWidget(self.tabs)
        self.panels: list[EditPanel] = []
        self.loaded = False
        self._active: EditPanel | None = None
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tabs.tabBarClicked.connect(self._tab_changed)
        QApplication.instance().focusChanged.connect(self._focus_changed)

    @Slot()
    def load_soon(self) -> None:
        """Load the panels once the event loop is free (e.g. right after the first paint)."""
        QTimer.singleShot(0, self.load_panels)

    def load_panels(self) -> None:
        """Import the registered editing panels and add them as tabs (once)."""
        if self.loaded:
            return
        self.loaded = True
        try:
            classes = panel_classes()
        except Exception as e:  # noqa: BLE001 - a broken panel module must not stop the editor
            classes = []
            self._show_error("Editing tools unavailable", f"The editing panels could not be loaded: {type(e).__name__}: {e}")
        self.tabs.blockSignals(True)
        self.tabs.clear()
        for panel_class in classes:
            try:
                panel = panel_class(self.context)
            except Exception as e:  # noqa: BLE001 - one broken panel must not stop the editor
                placeholder = QLabel(f"This panel could not start:\n{type(e).__name__}: {e}")
                placeholder.setWordWrap(True)
                self.tabs.addTab(placeholder, getattr(panel_class, "title", panel_class.__name__))
                continue
            self.panels.append(panel)
            self.tabs.addTab(scrolling(panel), panel.title)
        if self.tabs.count() == 0:
            self.tabs.addTab(hint("Editing tools (selection, blur magnification, deblurring) appear here."), "Edit")
        self.tabs.blockSignals(False)

    def panel_at(self, index: int) -> EditPanel | None:
        """The panel shown in tab `index` (inside its scroll area), or None."""
        area = self.tabs.widget(index)
        widget = area.widget() if isinstance(area, QScrollArea) else None
        return widget if widget in self.panels else None

    def current_panel(self) -> EditPanel | None:
        return self.panel_at(self.tabs.currentIndex())

    def new_photo(self, keep_settings: bool) -> None:
        """Another photo was opened: nothing from the last one is applied to it. The panel in use is
        left (no preview shows until the user turns to a panel again) and, unless `keep_settings`,
        every panel's settings go back to their defaults."""
        self.leave_panel()
        if not keep_settings:
            for panel in self.panels:
                panel.reset_settings()

    def toggle_brush(self) -> bool:
        """The B key: turn the brush of the current panel on or off, or of the first panel with a brush
        (its tab is chosen). False when no panel has a brush."""
        panel = self.current_panel()
        if panel is None or not panel.has_brush:
            panel = next((p for p in self.panels if p.has_brush), None)
            if panel is None:
                return False
            self.tabs.setCurrentIndex(next(i for i in range(self.tabs.count()) if self.panel_at(i) is panel))
        if self._active is not panel:
            self._tab_changed(self.tabs.currentIndex())
        panel.set_brush_on(not panel.brush_on())
        return True

    def leave_panel(self) -> None:
        """Stop the active panel: clear its preview and brush, so the canvas shows the blur map."""
        if self._active is not None:
            panel, self._active = self._active, None
            panel.deactivate()
        self.context.show_preview(None)
        self.context.end_brush()

    @Slot(int)
    def _tab_changed(self, index: int) -> None:
        """The user chose a panel's tab: the previous panel stops, this one starts."""
        panel = self.panel_at(index)
        if self._active is not None and self._active is panel:
            return
        self.leave_panel()
        if panel is not None:
            self._active = panel
            panel.activate()

    @Slot(QWidget, QWidget)
    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        current = self.current_panel()
        if new is not None and current is not None and current is not self._active:
            if current is new or current.isAncestorOf(new):
                self._tab_changed(self.tabs.currentIndex())
