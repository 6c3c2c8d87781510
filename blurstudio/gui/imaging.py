"""NumPy images -> QImage pyramids, built in worker threads.

The pixels are prepared by `blurstudio.display` (NumPy/OpenCV, which release the GIL); the QImages
here only wrap those buffers, so the GUI thread never converts or scales a photo. The canvas paints
from the pyramid level closest to the zoom, so painting costs scale with the window size, never
with the photo size (a 24 MP photo at "fit" paints from a ~1400 px level).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from blurstudio import display
from blurstudio.blurmap import BlurMap
from blurstudio.images import read_image
from blurstudio.photo_export import PhotoMetadata, read_metadata

# B, G, R, A bytes are Qt's 32-bit formats on little-endian machines; big-endian ones need the
# byte-ordered formats (slower to draw, but correct).
_LITTLE = sys.byteorder == "little"
_OPAQUE = QImage.Format.Format_RGB32 if _LITTLE else QImage.Format.Format_RGBX8888
_PREMULTIPLIED = QImage.Format.Format_ARGB32_Premultiplied if _LITTLE else QImage.Format.Format_RGBA8888_Premultiplied
_STRAIGHT = QImage.Format.Format_ARGB32 if _LITTLE else QImage.Format.Format_RGBA8888


@dataclass
class Pyramid:
    """Images of the same picture at full size and successive halves; levels[0] is the largest."""

    levels: list[QImage]
    full_size: QSize  # size of the picture in photo pixels (levels[0] may be smaller, e.g. a quick preview)
    buffers: list[np.ndarray] = field(default_factory=list, repr=False)  # the pixels the QImages wrap

    def level_for(self, scale: float) -> tuple[QImage, float]:
        """The smallest level with at least `scale` pixels per photo pixel, and its own scale."""
        best = self.levels[0]
        for level in self.levels:
            if level.width() / self.full_size.width() >= scale:
                best = level
            else:
                break
        return best, best.width() / self.full_size.width()


def _wrap(bgra: np.ndarray, fmt: QImage.Format) -> QImage:
    h, w = bgra.shape[:2]
    return QImage(bgra.data, w, h, bgra.strides[0], fmt)  # no copy: the Pyramid keeps `bgra` alive


def pyramid_from_array(array: np.ndarray, premultiplied: bool = False, full_size: QSize | None = None) -> Pyramid:
    """(H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA uint8 -> Pyramid. Call in a worker thread."""
    array = np.asarray(array)
    pixels = display.to_bgra(array)
    if not _LITTLE:
        pixels = np.ascontiguousarray(pixels[..., [2, 1, 0, 3]])
    buffers = display.pyramid(pixels)
    has_alpha = array.ndim == 3 and array.shape[2] == 4
    fmt = (_PREMULTIPLIED if premultiplied else _STRAIGHT) if has_alpha else _OPAQUE
    levels = [_wrap(b, fmt) for b in buffers]
    size = full_size or QSize(array.shape[1], array.shape[0])
    return Pyramid(levels, size, buffers)


@dataclass
class LoadedPhoto:
    path: Path
    array: np.ndarray
    pyramid: Pyramid
    key: tuple  # identifies the file version for the result cache
    metadata: PhotoMetadata  # EXIF and ICC, kept when the edited photo is saved


def load_photo(path: Path) -> LoadedPhoto:
    """Read and prepare a photo for display. Runs in a worker thread."""
    array = read_image(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return LoadedPhoto(path, array, pyramid_from_array(array), key, read_metadata(path))


def overlay_pyramid(blurmap: BlurMap, visible: tuple, palette: tuple, step: int, style: str = "filled") -> Pyramid:
    """The blur-map overlay layer as a pyramid (see BlurMap.overlay_rgba). Runs in a worker thread."""
    h, w = blurmap.shape
    layer = blurmap.overlay_rgba(visible, np.asarray(palette, np.uint8), step=step, style=style)
    return pyramid_from_array(layer, premultiplied=True, full_size=QSize(w, h))
