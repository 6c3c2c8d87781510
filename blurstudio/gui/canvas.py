"""The canvas: a QGraphicsView showing the photo, the blur-map overlay, previews and a before/after split.

Scene coordinates are photo pixel coordinates (x right, y down). Every picture is a `PyramidItem`
that paints only the exposed part from the pyramid level matching the zoom.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPen, QTransform, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from .imaging import Pyramid
from .context import BrushEvent, EditorContext

CANVAS_BACKGROUND = QColor(38, 38, 40)
MAP_BACKGROUND = QColor(20, 20, 22)  # behind the map in "map only" mode
MIN_ZOOM, MAX_ZOOM = 0.01, 32.0
ZOOM_STEP = 1.25
FIT_MARGIN = 12  # viewport pixels around a fitted photo


class ViewMode(str, Enum):
    OVERLAY = "overlay"
    MAP = "map"
    PHOTO = "photo"
    SPLIT = "split"


class PyramidItem(QGraphicsItem):
    """A picture drawn from a Pyramid; optionally clipped to the left or right of a scene x."""

    def __init__(self) -> None:
        super().__init__()
        self.pyramid: Pyramid | None = None
        self.clip_left_of: float | None = None  # paint only x >= this
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_pyramid(self, pyramid: Pyramid | None) -> None:
        self.prepareGeometryChange()
        self.pyramid = pyramid
        self.update()

    def boundingRect(self) -> QRectF:
        if self.pyramid is None:
            return QRectF()
        size = self.pyramid.full_size
        return QRectF(0, 0, size.width(), size.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.pyramid is None:
            return
        target = option.exposedRect.intersected(self.boundingRect())
        if self.clip_left_of is not None:
            target.setLeft(max(target.left(), self.clip_left_of))
        if target.isEmpty():
            return
        zoom = option.levelOfDetailFromTransform(painter.worldTransform())
        # On high-DPI screens a logical pixel is several device pixels: pick a level that sharp.
        device_ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        image, scale = self.pyramid.level_for(zoom * device_ratio)
        source = QRectF(target.x() * scale, target.y() * scale, target.width() * scale, target.height() * scale)
        # Smooth when shrinking; crisp pixels when zoomed in for inspection.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 1.0)
        painter.drawImage(target, image, source)


class CanvasView(QGraphicsView):
    """Zoom (wheel, Ctrl +/-), fit, 100%, pan (drag; middle button or Space+drag while brushing)."""

    hovered = Signal(int, int)  # photo pixel under the cursor, (-1, -1) outside
    zoom_changed = Signal(float)
    split_moved = Signal(float)
    first_painted = Signal()

    def __init__(self, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QBrush(CANVAS_BACKGROUND))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # The split divider lives in viewport coordinates, so scrolling must repaint, not blit.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # the main window takes drops (Qt passes them up to it)
        self.viewport().setAcceptDrops(False)

        self.map_background = QGraphicsRectItem()
        self.map_background.setBrush(QBrush(MAP_BACKGROUND))
        self.map_background.setPen(QPen(Qt.PenStyle.NoPen))
        self.photo_item = PyramidItem()
        self.preview_item = PyramidItem()
        self.overlay_item = PyramidItem()
        self.original_item = PyramidItem()  # the photo as opened, over everything while comparing
        self.original_item.setVisible(False)
        self.brush_ring = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255, 220), 1.5)
        pen.setCosmetic(True)
        self.brush_ring.setPen(pen)
        self.brush_ring.setVisible(False)
        for z, item in enumerate([self.photo_item, self.map_background, self.preview_item, self.overlay_item, self.original_item,
                                    self.brush_ring]):
            item.setZValue(z)
            self.scene().addItem(item)

        self.mode = ViewMode.OVERLAY
        self.opacity = 0.55
        self.split_fraction = 0.5
        self.empty_text = ""
        self._fit = True
        self._dragging_split = False
        self._space_down = False
        self._painting = False
        self._panning_from: QPoint | None = None
        self._painted = False
        context.brush_changed.connect(self._brush_changed)
        context.comparing_changed.connect(self._comparing_changed)
        self._apply_mode()

    # --- content ---------------------------------------------------------------------------
    def set_photo(self, pyramid: Pyramid | None, refit: bool = True) -> None:
        self.photo_item.set_pyramid(pyramid)
        if pyramid is not None:
            size = pyramid.full_size
            rect = QRectF(0, 0, size.width(), size.height())
            self.map_background.setRect(rect)
            self.setSceneRect(rect)
        if refit:
            self.fit_to_window()
        self._apply_mode()

    def set_original(self, pyramid: Pyramid | None) -> None:
        """The photo as opened (shown while the context compares with the original)."""
        self.original_item.set_pyramid(pyramid)

    def _comparing_changed(self, on: bool) -> None:
        self.original_item.setVisible(on)
        self.viewport().update()

    def set_overlay(self, pyramid: Pyramid | None) -> None:
        self.overlay_item.set_pyramid(pyramid)
        self._apply_mode()

    def set_preview(self, pyramid: Pyramid | None) -> None:
        self.preview_item.set_pyramid(pyramid)
        self._apply_mode()

    def has_photo(self) -> bool:
        return self.photo_item.pyramid is not None

    def set_mode(self, mode: ViewMode) -> None:
        self.mode = ViewMode(mode)
        self._apply_mode()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = max(0.0, min(1.0, float(opacity)))
        self._apply_mode()

    def set_empty_text(self, text: str) -> None:
        self.empty_text = text
        self.viewport().update()

    def _apply_mode(self) -> None:
        """Which items show, how opaque, and the split clipping."""
        previewing = self.preview_item.pyramid is not None
        mode = self.mode
        self.map_background.setVisible(mode == ViewMode.MAP and self.has_photo())
        # A preview replaces the photo; in split mode the original stays on the left.
        self.preview_item.setVisible(previewing and mode != ViewMode.MAP)
        self.overlay_item.setVisible(not previewing and mode in (ViewMode.OVERLAY, ViewMode.MAP, ViewMode.SPLIT))
        self.overlay_item.setOpacity(1.0 if mode == ViewMode.MAP else self.opacity)
        self._update_split_clip()
        self.viewport().update()

    def _split_scene_x(self) -> float:
        x = round(self.viewport().width() * self.split_fraction)
        return self.mapToScene(QPoint(x, 0)).x()

    def _update_split_clip(self) -> None:
        clip = self._split_scene_x() if self.mode == ViewMode.SPLIT else None
        self.overlay_item.clip_left_of = clip
        self.preview_item.clip_left_of = clip
        self.overlay_item.update()
        self.preview_item.update()

    # --- zoom ------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor_view_pos: QPoint | None = None) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self._fit = False
        if anchor_view_pos is None:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        old = self.zoom()
        if old > 0:
            self.scale(factor / old, factor / old)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._after_view_change()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / ZOOM_STEP)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def fit_to_window(self) -> None:
        self._fit = True
        rect = self.sceneRect()
        if rect.isEmpty() or not self.has_photo():
            return
        # Like fitInView, with a margin so the photo does not touch the window edges.
        margin = FIT_MARGIN if min(self.viewport().width(), self.viewport().height()) > 8 * FIT_MARGIN else 0
        scale = min(
            (self.viewport().width() - 2 * margin) / rect.width(),
            (self.viewport().height() - 2 * margin) / rect.height(),
        )
        # Never enlarge: an upscaled photo looks blurrier than it is, which misleads a blur editor.
        scale = max(MIN_ZOOM, min(scale, 1.0))
        self.setTransform(QTransform.fromScale(scale, scale))
        self.centerOn(rect.center())
        self._after_view_change()

    def _after_view_change(self) -> None:
        self._update_split_clip()
        self.zoom_changed.emit(self.zoom())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        if self._fit:
            self.fit_to_window()
        else:
            self._update_split_clip()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        super().scrollContentsBy(dx, dy)
        self._update_split_clip()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if not self.has_photo():
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom() * (ZOOM_STEP**steps), anchor_view_pos=event.position().toPoint())
        event.accept()

    # --- mouse: split divider, brush, hover, pan -------------------------------------------
    def _near_divider(self, pos: QPoint) -> bool:
        x = self.viewport().width() * self.split_fraction
        return self.mode == ViewMode.SPLIT and abs(pos.x() - x) <= 8

    def _image_point(self, pos: QPoint) -> QPointF:
        return self.mapToScene(pos)

    def _brush_event(self, phase: str, event: QMouseEvent) -> BrushEvent:
        p = self._image_point(event.position().toPoint())
        erase = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier) or bool(
            event.buttons() & Qt.MouseButton.RightButton or event.button() == Qt.MouseButton.RightButton
        )
        return BrushEvent(phase, p.x(), p.y(), erase)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton and self._near_divider(pos):
            self._dragging_split = True
            event.accept()
            return
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space_down and event.button() == Qt.MouseButton.LeftButton
        ):
            self._panning_from = pos
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if self.context.brush_callback is not None and self.has_photo() and event.button() in (
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.RightButton,
        ):
            self._painting = True
            self.context.deliver_brush(self._brush_event("press", event))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if self._dragging_split:
            width = max(1, self.viewport().width())
            self.split_fraction = max(0.0, min(1.0, pos.x() / width))
            self._update_split_clip()
            self.viewport().update()
            self.split_moved.emit(self.split_fraction)
            return
        if self._panning_from is not None:
            delta = pos - self._panning_from
            self._panning_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            return
        p = self._image_point(pos)
        if self.brush_ring.isVisible() or self.context.brush_callback is not None:
            self._place_brush_ring(p)
        if self._painting:
            self.context.deliver_brush(self._brush_event("move", event))
        else:
            if self.mode == ViewMode.SPLIT:
                cursor = Qt.CursorShape.SplitHCursor if self._near_divider(pos) else None
                if cursor is not None:
                    self.viewport().setCursor(cursor)
                elif self.context.brush_callback is None:
                    self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            super().mouseMoveEvent(event)
        rect = self.sceneRect()
        if self.has_photo() and rect.contains(p):
            self.hovered.emit(int(p.x()), int(p.y()))
        else:
            self.hovered.emit(-1, -1)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging_split:
            self._dragging_split = False
            return
        if self._panning_from is not None:
            self._panning_from = None
            self._restore_cursor()
            return
        if self._painting:
            self._painting = False
            self.context.deliver_brush(self._brush_event("release", event))
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(-1, -1)
        self.brush_ring.setVisible(False)
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._restore_cursor()
        super().keyReleaseEvent(event)

    # --- brush -----------------------------------------------------------------------------
    def _brush_changed(self) -> None:
        brushing = self.context.brush_callback is not None
        self.setDragMode(QGraphicsView.DragMode.NoDrag if brushing else QGraphicsView.DragMode.ScrollHandDrag)
        placed = not self.brush_ring.rect().isEmpty()  # the ring appears where the pointer first moves
        self.brush_ring.setVisible(brushing and bool(self.context.brush_radius) and placed)
        if brushing and self.context.brush_radius and placed:
            self._place_brush_ring(self.brush_ring.rect().center())
        self._painting = self._painting and brushing
        self._restore_cursor()

    def _place_brush_ring(self, center: QPointF) -> None:
        r = self.context.brush_radius
        if not r or self.context.brush_callback is None:
            self.brush_ring.setVisible(False)
            return
        self.brush_ring.setRect(QRectF(center.x() - r, center.y() - r, 2 * r, 2 * r))
        self.brush_ring.setVisible(True)

    def _restore_cursor(self) -> None:
        if self.context.brush_callback is not None:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)

    # --- painting on top -------------------------------------------------------------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        super().drawForeground(painter, rect)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()
        painter.save()
        painter.resetTransform()  # viewport coordinates from here on
        vw, vh = self.viewport().width(), self.viewport().height()
        if self.original_item.isVisible() and self.has_photo():
            self._label(painter, QPointF(12, 12), "Original", align_right=False)
        elif not self.has_photo() and self.empty_text:
            painter.setPen(QColor(200, 200, 205))
            font = QFont(painter.font())
            font.setPointSizeF(font.pointSizeF() * 1.15)
            painter.setFont(font)
            box = QRectF(vw * 0.15, 0, vw * 0.7, vh)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.empty_text)
        elif self.mode == ViewMode.SPLIT and self.has_photo():
            x = round(vw * self.split_fraction)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(QPen(QColor(0, 0, 0, 120), 3))
            painter.drawLine(x, 0, x, vh)
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.drawLine(x, 0, x, vh)
            painter.setBrush(QColor(255, 255, 255))
            painter.setPen(QPen(QColor(0, 0, 0, 140), 1))
            painter.drawEllipse(QPointF(x, vh / 2), 9, 9)
            painter.setPen(QColor(40, 40, 40))
            painter.drawText(QRectF(x - 9, vh / 2 - 9, 18, 18), int(Qt.AlignmentFlag.AlignCenter), "↔")
            # Labels: which side is which.
            right = "Edited" if self.preview_item.pyramid is not None else "Blur map"
            self._label(painter, QPointF(x - 10, 12), "Before", align_right=True)
            self._label(painter, QPointF(x + 10, 12), right, align_right=False)
        painter.restore()

    def _label(self, painter: QPainter, at: QPointF, text: str, align_right: bool) -> None:
        metrics = painter.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
        box = QRectF(at.x() - w if align_right else at.x(), at.y(), w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(240, 240, 240))
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
