"""Saving the edited photo: JPEG (with a quality), PNG, or 16-bit TIFF, keeping the original's EXIF
and ICC profile. No Qt: the GUI's Save As and Export call `save_photo` in a worker.

The pixels are stored upright (read_image applies the EXIF orientation), so the orientation tag
written is always 1, or viewers would rotate the photo a second time. Image-structure tags of a
TIFF original (strip offsets, bit depth...) describe the old file, never the new one: they are dropped.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, TiffImagePlugin

from . import raw
from .errors import ImageError
from .images import atomic_write, check_writable

SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}
DEFAULT_QUALITY = 95
ORIENTATION, EXIF_IFD, GPS_IFD, INTEROP_IFD = 0x0112, 0x8769, 0x8825, 0xA005
# Tags that describe how a TIFF file stores its pixels (and pointers into it): never copied.
_STRUCTURE_TAGS = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 292, 293, 317,
                   320, 322, 323, 324, 325, 330, 338, 339, 340, 341, 513, 514, 530, 531, 532, 700, 33723, 34377,
                   34675, 50706}
# Text tags of the main directory a 16-bit TIFF carries over (its EXIF and GPS directories follow them).
_TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)


@dataclass(frozen=True)
class PhotoMetadata:
    """What a saved photo keeps of its original: the EXIF block (orientation already 1) and the ICC profile."""

    exif: bytes | None = None  # "Exif\\0\\0" + TIFF-structured directories, as Pillow writes them
    icc: bytes | None = None


def read_metadata(path: str | os.PathLike) -> PhotoMetadata:
    """The EXIF (orientation set to 1) and ICC profile of a photo file. Raw files, files without
    metadata and metadata Pillow cannot parse give an empty PhotoMetadata: the pixels matter more."""
    path = Path(path)
    if raw.is_raw_path(path):
        return PhotoMetadata()
    try:
        with Image.open(path) as im:
            im.load()  # a PNG's eXIf chunk may follow the pixels
            icc = im.info.get("icc_profile") or None
            exif = im.getexif()
            for tag in _STRUCTURE_TAGS & set(exif):
                del exif[tag]
            if len(exif) == 0:
                return PhotoMetadata(None, icc)
            exif[ORIENTATION] = 1
            return PhotoMetadata(exif.tobytes(), icc)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, struct.error):
        return PhotoMetadata()


def save_photo(path: str | os.PathLike, photo: np.ndarray, quality: int = DEFAULT_QUALITY,
               metadata: PhotoMetadata = PhotoMetadata(), protect: Iterable[str | os.PathLike] = ()) -> Path:
    """Write the (H, W, 3) uint8 RGB photo to `path` atomically: .jpg/.jpeg (at `quality`, 1-100),
    .png, or .tif/.tiff (16 bits per channel, deflate). EXIF and ICC from `metadata` are embedded.
    Refuses to write over any path in `protect`. Returns the path written; raises ImageError."""
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: save the photo as {', '.join(SAVE_FORMATS)}")
    photo = np.ascontiguousarray(photo)
    if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise ImageError(f"{path}: expected an (H, W, 3) uint8 photo, got {photo.shape} {photo.dtype}")
    if not 1 <= int(quality) <= 100:
        raise ImageError(f"{path}: JPEG quality must be between 1 and 100, got {quality}")
    check_writable(path, photo.shape[:2], protect)
    if fmt == "TIFF":
        data = _tiff16_bytes(photo, metadata)
        atomic_write(path, lambda f: f.write(data))
        return path
    options: dict = {}
    if metadata.exif:
        options["exif"] = metadata.exif
    if metadata.icc:
        options["icc_profile"] = metadata.icc
    if fmt == "JPEG":
        options["quality"] = int(quality)
        options["subsampling"] = 0 if quality >= 90 else 2  # full-resolution colour at high quality, as editors do
    im = Image.fromarray(photo)
    atomic_write(path, lambda f: im.save(f, format=fmt, **options))
    return path


def _tiff16_bytes(photo: np.ndarray, metadata: PhotoMetadata) -> bytes:
    """The photo as a 16-bit RGB TIFF in memory, with the ICC profile, the main text tags and the
    EXIF and GPS directories of `metadata`.

    tifffile (Pillow cannot hold 16-bit RGB) refuses to write EXIF pointers itself, so a placeholder
    tag one below each pointer's code is written (the entries stay sorted), and afterwards renamed to
    the pointer and aimed at the directory appended at the end of the file."""
    import tifffile

    exif = Image.Exif()
    if metadata.exif:
        exif.load(metadata.exif)
    tags = [(code, "s", 0, str(exif[code]), True) for code in _TIFF_TEXT_TAGS if isinstance(exif.get(code), str)]
    if metadata.icc:
        tags.append((34675, 7, len(metadata.icc), metadata.icc, True))
    directories = {}
    for pointer in (EXIF_IFD, GPS_IFD):
        entries = {k: v for k, v in exif.get_ifd(pointer).items() if k != INTEROP_IFD}  # an offset into the old file
        if entries:
            directories[pointer] = entries
            tags.append((pointer - 1, 4, 1, 0, True))
    out = io.BytesIO()
    tifffile.imwrite(out, photo.astype(np.uint16) * 257, photometric="rgb", compression="zlib", byteorder="<",
                     software="Blur Studio", metadata=None, extratags=tags)
    data = bytearray(out.getvalue())
    for pointer, entries in directories.items():
        entry = _ifd0_entry(data, pointer - 1)
        data += b"\0" * (len(data) % 2)  # directories start on a word boundary
        directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
        for code, value in entries.items():
            directory[code] = value
        start = len(data)
        data += directory.tobytes(start)
        struct.pack_into("<HHII", data, entry, pointer, 4, 1, start)
    return bytes(data)


def _ifd0_entry(data: bytearray, code: int) -> int:
    """The file offset of tag `code`'s 12-byte entry in the first directory of a little-endian TIFF."""
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for i in range(count):
        at = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == code:
            return at
    raise ImageError(f"TIFF writer dropped tag {code}")  # tifffile changed: the tests say so
