"""Reading and writing photos safely.

Reading: any mode Pillow knows -> (H, W, 3) uint8 RGB as displayed (EXIF orientation applied),
with a pixel-count limit against decompression bombs. Writing: atomic (temporary file in the same
folder, then os.replace), format from the suffix, never over a protected (input) path.

Temporary files are the one scheme of the whole program: `.bs-XXXXXXXX.tmp` beside the destination
(a short name, so a destination name of legal length still fits), removed when the write fails or
the process is interrupted (SIGINT, or SIGTERM turned into `Terminated` by the command line), and
left-overs older than an hour (a killed process) swept from the folder by the next write.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
import warnings
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from . import raw
from .errors import ImageError

DEFAULT_MAX_PIXELS = 200_000_000  # well above any camera (the largest are ~150 MP)

# Pillow's own bomb check raises at 2x this and warns above it; we do our own check with a
# clear message first, so keep Pillow's limit in line with ours.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS
# A truncated file must be an error, never silently grey pixels.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Camera raw files (blurstudio.raw.RAW_SUFFIXES) are read through their embedded preview (rawpy).
READ_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp",
                 ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".dng")
NAME_MAX = 255  # bytes in one file name on every common file system
TEMP_PREFIX, TEMP_SUFFIX = ".bs-", ".tmp"
STALE_TEMP_SECONDS = 3600  # a temporary file this old belongs to a process that was killed
# The largest side each format can store (JPEG: 16-bit sizes; WebP: 14-bit).
MAX_SIDE = {"JPEG": 65_535, "WEBP": 16_383, "PNG": 2**31 - 1, "TIFF": 2**32 - 1, "BMP": 2**31 - 1}

# suffix -> (Pillow format, save options)
_WRITE_FORMATS: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}



def check_name_length(path: str | os.PathLike) -> None:
    """Raise ImageError when a component of `path` is longer than file systems allow (pathlib
    would raise a bare OSError later, from wherever the path is first used)."""
    for part in Path(path).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise ImageError(f"{str(path)[:60]}...: a file or folder name is longer than {NAME_MAX} bytes")


def check_regular_file(path: str | os.PathLike, what: str = "image file") -> Path:
    """The path, if it names an existing regular file (following links); else ImageError saying what
    it is instead. A FIFO or device would block or never end when read."""
    path = Path(path)
    check_name_length(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except OSError as e:
        raise ImageError(f"{path}: cannot be opened ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise ImageError(f"{path}: is a folder, not an {what}")
    if not stat.S_ISREG(mode):
        raise ImageError(f"{path}: not a regular file (a pipe, device or socket), not an {what}")
    return path


def is_image_path(path: str | os.PathLike) -> bool:
    """True if the suffix is one of the photo formats we read."""
    return Path(path).suffix.lower() in READ_SUFFIXES


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as displayed, read from the header only (a raw file's: its preview's)."""
    path = Path(path)
    if raw.is_raw_path(path):
        return raw.raw_preview_size(check_regular_file(path), DEFAULT_MAX_PIXELS)
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: cannot read image header ({e})") from None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, reduce_to: int | None = None) -> np.ndarray:
    """Read a photo as (H, W, 3) uint8 RGB, EXIF orientation applied.

    Transparent pixels are composited on white; 16-bit and float images are scaled to 8 bits.
    Raw files (CR2, NEF, DNG...) give their embedded preview (blurstudio.raw).
    reduce_to: JPEGs decode at a reduced scale (1/2, 1/4, 1/8: several times faster) keeping the long
    side at least this; other formats decode in full. For previews and culling, not for editing.
    Raises ImageError naming the file for missing, non-image, truncated, corrupt or too large files.
    """
    path = check_regular_file(path)
    if raw.is_raw_path(path):
        return raw.read_raw_preview(path, max_pixels, reduce_to)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # reads the header only
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageError(
                        f"{path}: image is {w}x{h} = {w * h / 1e6:.0f} megapixels, above the limit of "
                        f"{max_pixels / 1e6:.0f} megapixels (refusing a possible decompression bomb)"
                    )
                if reduce_to and im.format == "JPEG" and reduce_to < max(w, h):
                    s = reduce_to / max(w, h)
                    im.draft(None, (int(w * s + 1), int(h * s + 1)))
                im.load()
                if im.getexif().get(0x0112, 1) != 1:  # exif_transpose copies even when there is nothing to do
                    im = ImageOps.exif_transpose(im)
                return _to_rgb8(im, path)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        # Pillow's own check (at twice its MAX_IMAGE_PIXELS) fires when opening, before ours.
        raise ImageError(
            f"{path}: image is above the limit of {max_pixels / 1e6:.0f} megapixels "
            f"(refusing a possible decompression bomb: {e})"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file, or a format that cannot be read") from None
    except MemoryError:
        raise ImageError(f"{path}: not enough memory to read this image") from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError, TypeError) as e:
        # Pillow reports truncation and corrupt streams with these types.
        raise ImageError(f"{path}: corrupt or truncated image ({e})") from None


def _to_rgb8(im: Image.Image, path: Path) -> np.ndarray:
    mode = im.mode
    if mode == "RGB":
        return np.array(im, dtype=np.uint8)  # one copy, writable
    if mode.startswith("I;16") or mode in ("I", "F"):
        grey = _scale_to_8bit(np.asarray(im), mode)
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)  # composite on white
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    try:  # 1, L, P, CMYK, YCbCr, LAB, HSV, ...
        return np.array(im.convert("RGB"), dtype=np.uint8)
    except (ValueError, OSError) as e:
        raise ImageError(f"{path}: unsupported pixel mode {mode!r} ({e})") from None


def _scale_to_8bit(a: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit int and float greyscale -> uint8.

    16-bit (and 'I', which Pillow uses for 16-bit PNG/TIFF) map 0..65535 to 0..255. Float images
    in [0, 1] map to 0..255; floats beyond that are taken as 0..255 or 0..65535 by their maximum.
    """
    a = a.astype(np.float32)
    if mode == "F":
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        top = float(a.max()) if a.size else 1.0
        scale = 255.0 if top <= 1.0 else 1.0 if top <= 255.0 else 255.0 / 65535.0 if top <= 65535.0 else 255.0 / top
    elif mode == "I" and a.size and float(a.max()) <= 255.0:
        scale = 1.0  # an 8-bit image stored as 32-bit ints
    else:
        scale = 255.0 / 65535.0
    return np.clip(a * scale + 0.5, 0, 255).astype(np.uint8)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True if two paths name the same file (resolving links; hard links too when both exist)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def write_image(
    path: str | os.PathLike,
    array: np.ndarray,
    quality: int = 95,
    protect: Iterable[str | os.PathLike] = (),
) -> Path:
    """Write an image atomically; the format comes from the suffix (.jpg .png .tif .webp .bmp).

    array: (H, W) uint8 or uint16 greyscale (16-bit: PNG/TIFF only), (H, W, 3) uint8 RGB,
    (H, W, 4) uint8 RGBA (PNG/TIFF/WebP), or bool (written as 0/255).
    Refuses to write over any path in `protect` (the inputs). Returns the path written.
    """
    path = Path(path)
    array = np.asarray(array)
    check_writable(path, array.shape[:2], protect)
    fmt = _WRITE_FORMATS[path.suffix.lower()]
    im = _to_pil(array, fmt, path)
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = int(quality)
    if fmt == "PNG":
        options["compress_level"] = 3  # masks compress well; level 6+ costs seconds on 50 MP
    if fmt == "TIFF":
        options["compression"] = "tiff_deflate"
    atomic_write(path, lambda f: im.save(f, format=fmt, **options))
    return path


def check_writable(path: str | os.PathLike, size: tuple[int, int] | None = None,
                   protect: Iterable[str | os.PathLike] = ()) -> None:
    """Raise ImageError unless `path` can be written: a name of legal length, an existing folder,
    not one of the `protect` paths (a command's inputs) and, for an image of `size` (H, W), a known
    format that can hold that size. Commands call it for every output before writing any."""
    path = Path(path)
    check_name_length(path)
    for p in protect:
        if same_file(path, p):
            raise ImageError(f"{path}: refusing to write over the input file {p}")
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if size is not None and fmt is None:
        raise ImageError(f"{path}: unknown image format {path.suffix!r}; use one of {', '.join(sorted(_WRITE_FORMATS))}")
    if size is not None and max(size) > MAX_SIDE[fmt]:
        raise ImageError(f"{path}: {fmt} cannot store an image of {size[1]}x{size[0]} pixels (at most "
                         f"{MAX_SIDE[fmt]} per side); use .png or .tif")
    if not path.parent.is_dir():
        raise ImageError(f"{path}: the folder {path.parent} does not exist")


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(file)` on a temporary file in the destination folder, then rename it over
    `path`: a reader never sees a half-written file, and a failure or an interrupt leaves no
    partial or temporary file behind (see the module docstring)."""
    path = Path(path)
    check_name_length(path)
    sweep_stale_temps(path.parent)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
        with os.fdopen(fd, "wb") as f:
            write(f)
        _set_default_permissions(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise ImageError(f"{path}: could not write ({e.strerror or e})") from None
    finally:  # also on KeyboardInterrupt and Terminated
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


_swept: set[str] = set()  # folders already swept by this process: a batch writes many files into one


def sweep_stale_temps(folder: str | os.PathLike) -> None:
    """Remove our temporary files older than STALE_TEMP_SECONDS from `folder` (left by a process
    that was killed); newer ones may belong to a write in progress. Once per folder and process:
    listing a large folder for every file written would make a batch quadratic."""
    key = os.path.abspath(folder)
    if key in _swept:
        return
    _swept.add(key)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    cutoff = time.time() - STALE_TEMP_SECONDS
    for e in entries:
        if e.name.startswith(TEMP_PREFIX) and e.name.endswith(TEMP_SUFFIX):
            try:
                if e.is_file(follow_symlinks=False) and e.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(e.path)
            except OSError:
                pass


def _to_pil(a: np.ndarray, fmt: str, path: Path) -> Image.Image:
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        if a.ndim != 2 or fmt not in ("PNG", "TIFF"):
            raise ImageError(f"{path}: 16-bit images must be greyscale (H, W) and saved as .png or .tif")
        return Image.fromarray(np.ascontiguousarray(a))  # mode I;16
    if a.dtype != np.uint8:
        raise ImageError(f"{path}: cannot write an array of type {a.dtype}; convert to uint8 or uint16 first")
    if a.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(a))
    if a.ndim == 3 and a.shape[2] == 3:
        return Image.fromarray(np.ascontiguousarray(a))
    if a.ndim == 3 and a.shape[2] == 4:
        if fmt in ("JPEG", "BMP"):
            raise ImageError(f"{path}: {fmt} cannot store transparency; save RGBA images as .png")
        return Image.fromarray(np.ascontiguousarray(a))
    raise ImageError(f"{path}: cannot write an array of shape {a.shape}; expected (H, W), (H, W, 3) or (H, W, 4)")


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not thread-safe


def _set_default_permissions(path: str) -> None:
    # mkstemp creates files readable only by the owner; give the file the usual permissions.
    os.chmod(path, 0o666 & ~_UMASK)
