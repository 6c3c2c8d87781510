"""Camera raw files (CR2, CR3, NEF, ARW, RAF, ORF, RW2, DNG) read through their embedded preview.

Blur detection needs the picture, not the sensor data: every camera embeds a JPEG preview (most at
full or near-full size) that the camera rendered, and extracting it is ~100x faster than
demosaicing. rawpy (LibRaw) finds it; `images.read_image` calls `read_raw_preview` for raw suffixes,
so every command and the GUI read raw files the same way. rawpy is optional (`pip install
'blurstudio[raw]'`); without it a raw file is a clear ImageError, not a crash.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import ImageError

RAW_SUFFIXES = (".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".dng")

# LibRaw's `flip` (from the raw's own orientation tag) -> the PIL transpose that shows it upright.
_FLIP_TRANSPOSE = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def is_raw_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in RAW_SUFFIXES


def _rawpy():
    try:
        import rawpy
    except ImportError:
        return None
    return rawpy


def _preview(path: Path, max_pixels: int) -> tuple[Image.Image, int]:
    """The embedded preview as an unloaded (JPEG) or loaded (bitmap) PIL image, and LibRaw's flip."""
    rawpy = _rawpy()
    if rawpy is None:
        raise ImageError(f"{path}: reading raw files needs rawpy (pip install 'blurstudio[raw]')")
    try:
        with rawpy.imread(str(path)) as raw:
            flip = int(raw.sizes.flip)
            thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        raise ImageError(f"{path}: this raw file has no embedded preview that can be read; convert it "
                         "to JPEG or TIFF with your raw converter first") from None
    except rawpy.LibRawFileUnsupportedError:
        raise ImageError(f"{path}: not a raw file LibRaw can read (unknown camera or not a raw file)") from None
    except (rawpy.LibRawError, OSError, ValueError) as e:
        raise ImageError(f"{path}: corrupt or truncated raw file ({e})") from None
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        a = np.asarray(thumb.data)
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
            raise ImageError(f"{path}: the embedded preview is an unsupported bitmap ({a.dtype} {a.shape})")
        if a.shape[0] * a.shape[1] > max_pixels:
            raise ImageError(f"{path}: the embedded preview is above the limit of {max_pixels / 1e6:.0f} megapixels")
        return Image.fromarray(a), flip
    try:
        im = Image.open(io.BytesIO(bytes(thumb.data)))
    except (OSError, ValueError) as e:
        raise ImageError(f"{path}: the embedded preview is not a readable JPEG ({e})") from None
    if im.size[0] * im.size[1] > max_pixels:
        raise ImageError(f"{path}: the embedded preview is above the limit of {max_pixels / 1e6:.0f} megapixels")
    return im, flip


def _upright(im: Image.Image, flip: int) -> Image.Image:
    """The preview as displayed: its own EXIF orientation when it has one, else the raw file's."""
    if im.getexif().get(0x0112, 1) != 1:
        return ImageOps.exif_transpose(im)
    method = _FLIP_TRANSPOSE.get(flip)
    return im.transpose(method) if method is not None else im


def read_raw_preview(path: str | os.PathLike, max_pixels: int, reduce_to: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a raw file's embedded preview, upright. With reduce_to, a JPEG preview
    decodes at a reduced scale keeping its long side at least that. Raises ImageError."""
    path = Path(path)
    im, flip = _preview(path, max_pixels)
    try:
        if reduce_to and im.format == "JPEG":
            w, h = im.size
            s = reduce_to / max(w, h)
            if s < 1:
                im.draft(None, (int(w * s + 1), int(h * s + 1)))
        im.load()
        return np.array(_upright(im, flip).convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{path}: the embedded preview is corrupt or truncated ({e})") from None


def raw_preview_size(path: str | os.PathLike, max_pixels: int) -> tuple[int, int]:
    """(width, height) of the embedded preview as displayed."""
    im, flip = _preview(Path(path), max_pixels)
    w, h = im.size
    swap = im.getexif().get(0x0112, 1) in (5, 6, 7, 8) or (im.getexif().get(0x0112, 1) == 1 and flip in (5, 6))
    return (h, w) if swap else (w, h)
