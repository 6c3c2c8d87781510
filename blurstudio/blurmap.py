"""BlurMap: per-pixel class probabilities (sharp, motion, defocus) aligned with a photo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .images import ImageError, atomic_write, check_regular_file

CLASS_NAMES = ("sharp", "motion", "defocus")
SHARP, MOTION, DEFOCUS = 0, 1, 2
LABEL_VALUES = (0, 100, 200)  # 8-bit label image convention of the paper's data set
OVERLAY_STYLES = ("filled", "hatched")

# Okabe-Ito colour-blind-safe colours; sharp is shown as "no tint" by default in overlays.
PALETTE = np.array(
    [
        (0, 158, 115),  # sharp: bluish green
        (230, 159, 0),  # motion: orange
        (86, 180, 233),  # defocus: sky blue
    ],
    dtype=np.uint8,
)


@dataclass
class BlurMap:
    """probs: float32 (3, H, W), each pixel sums to 1, class order sharp/motion/defocus."""

    probs: np.ndarray
    meta: dict = field(default_factory=dict)  # model name, device, timings...

    def __post_init__(self) -> None:
        p = np.asarray(self.probs)
        if p.ndim != 3 or p.shape[0] != 3:
            raise ValueError(f"BlurMap probabilities must have shape (3, H, W), got {p.shape}")
        self.probs = p.astype(np.float32, copy=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.probs.shape[1], self.probs.shape[2]

    @property
    def labels(self) -> np.ndarray:
        """(H, W) uint8 class index 0 sharp / 1 motion / 2 defocus."""
        # Same as argmax (ties go to the lower index) but several times faster on large maps.
        p = self.probs
        motion = p[MOTION] > p[SHARP]
        defocus = p[DEFOCUS] > np.maximum(p[SHARP], p[MOTION])
        return np.where(defocus, np.uint8(DEFOCUS), motion.view(np.uint8))

    @property
    def blur(self) -> np.ndarray:
        """(H, W) float32 blur confidence, 1 - p(sharp)."""
        return np.clip(1.0 - self.probs[SHARP], 0.0, 1.0)

    def fractions(self) -> dict[str, float]:
        """Fraction of pixels labelled with each class."""
        counts = np.bincount(self.labels.ravel(), minlength=3)
        total = max(int(counts.sum()), 1)
        return {name: float(c) / total for name, c in zip(CLASS_NAMES, counts)}

    def label_image(self) -> np.ndarray:
        """(H, W) uint8 with 0 sharp / 100 motion / 200 defocus."""
        return (self.labels * 100).astype(np.uint8)

    def blur_image(self) -> np.ndarray:
        """(H, W) uint8 blur confidence, 255 = surely blurred."""
        return np.round(self.blur * 255.0).astype(np.uint8)

    def colorize(self, palette: np.ndarray = PALETTE) -> np.ndarray:
        """(H, W, 3) uint8 map: each pixel the probability-weighted mix of the class colours."""
        pal = np.asarray(palette, dtype=np.float32)
        h, w = self.shape
        flat = self.probs.reshape(3, -1).T @ pal  # (H*W, 3)
        return np.clip(flat, 0, 255).reshape(h, w, 3).astype(np.uint8)

    def overlay(
        self,
        photo: np.ndarray,
        opacity: float = 0.5,
        visible: tuple[bool, bool, bool] = (False, True, True),
        palette: np.ndarray = PALETTE,
    ) -> np.ndarray:
        """The photo with the class colours blended over it. Classes not `visible` are left untinted."""
        photo = np.asarray(photo)
        if photo.shape[:2] != self.shape or photo.ndim != 3 or photo.shape[2] != 3:
            raise ValueError(f"photo of shape {photo.shape} does not match a blur map of size {self.shape}")
        pal = np.asarray(palette, dtype=np.float32)
        shown = [k for k in range(3) if visible[k]]
        # Per-plane arithmetic: the same result as blending (H, W, 3) arrays, in a fraction of the time.
        total = np.zeros(self.shape, np.float32)
        for k in shown:
            total += self.probs[k]
        alpha = np.clip(total, 0.0, 1.0) * float(opacity)  # (H, W)
        tint_scale = alpha / np.maximum(total, 1e-6)  # tint = sum_k p_k colour_k / total, times alpha
        keep = 1.0 - alpha
        planes = []
        for c in range(3):
            plane = photo[..., c].astype(np.float32) * keep
            for k in shown:
                plane += self.probs[k] * (pal[k, c] * tint_scale)
            plane += 0.5
            planes.append(np.clip(plane, 0, 255).astype(np.uint8))
        return np.stack(planes, axis=-1)

    def overlay_rgba(
        self,
        visible: tuple[bool, bool, bool] = (False, True, True),
        palette: np.ndarray = PALETTE,
        step: int = 1,
        rows: int = 512,
        style: str = "filled",
    ) -> np.ndarray:
        """The overlay as a separate layer: (H', W', 4) uint8 RGBA with premultiplied alpha, where
        alpha = p(visible classes) and the colour is their probability-weighted palette mix.
        Blending it over the photo at opacity o gives `overlay(photo, o, visible)` (up to rounding).
        `step` > 1 subsamples (a quick low-resolution layer); work runs in bands of `rows` to bound memory.
        style "hatched": each class in stripes of its colour and black (sharp |, motion /, defocus \\),
        so the classes stay apart by texture where the photo's own colours resemble the tints."""
        if style not in OVERLAY_STYLES:
            raise ValueError(f"unknown overlay style {style!r}; choose one of {', '.join(OVERLAY_STYLES)}")
        pal = np.asarray(palette, dtype=np.float32)
        vis = np.asarray(visible, dtype=np.float32)
        probs = self.probs[:, ::step, ::step]
        h, w = probs.shape[1:]
        # Stripes about 1/150 of the long side wide: a few screen pixels when the photo fits the window.
        width = max(4, round(max(self.shape) / 150))
        xs = np.arange(w, dtype=np.int64)[None, :] * step
        out = np.empty((h, w, 4), np.uint8)
        for y0 in range(0, h, rows):
            band = probs[:, y0 : y0 + rows] * vis[:, None, None]  # (3, b, W)
            alpha = np.clip(band.sum(axis=0), 0.0, 1.0) * 255.0
            if style == "hatched":
                ys = np.arange(y0, y0 + band.shape[1], dtype=np.int64)[:, None] * step
                for k, coordinate in enumerate((xs, xs + ys, xs - ys)):
                    band[k] *= (coordinate // width) % 2 == 0  # the gaps stay black: dark on light scenes
            rgb = np.einsum("chw,cd->hwd", band, pal)  # premultiplied colour
            out[y0 : y0 + rows, :, :3] = np.clip(rgb + 0.5, 0, 255)
            out[y0 : y0 + rows, :, 3] = alpha + 0.5
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Save as .npz (float16 probabilities). Written atomically."""
        probs = self.probs.astype(np.float16)
        atomic_write(Path(path), lambda f: np.savez_compressed(f, probs=probs))

    @classmethod
    def load(cls, path: str | os.PathLike, shape: tuple[int, int] | None = None) -> "BlurMap":
        """Load a blur map saved with `save` (.npz) or a (3, H, W) probabilities .npy file
        (`blurstudio detect --probs`). With `shape` (H, W), the file's header must promise that
        size before its data is read (a forged header cannot make it allocate gigabytes).
        Raises ValueError naming the file for anything else, including non-finite or
        out-of-range probabilities."""
        path = Path(path)
        try:
            check_regular_file(path, "saved blur map")
            with open(path, "rb") as f:
                magic = f.read(8)
            if magic.startswith(b"\x89PNG") or magic[:2] == b"\xff\xd8":
                raise ValueError(f"{path}: is an image, not a saved blur map; pass the .npz or .npy "
                                 "probabilities (`blurstudio detect --probs` writes PHOTO_probs.npy)")
            if magic.startswith(b"PK"):  # .npz: a zip holding probs.npy
                with np.load(path) as z:
                    if "probs" not in z.files:
                        raise ValueError(f"{path}: holds no 'probs' array")
                    with z.zip.open("probs.npy") as member:
                        _check_header(member, path, shape)
                    probs = z["probs"]
            else:
                with open(path, "rb") as f:
                    _check_header(f, path, shape)
                probs = np.load(path, allow_pickle=False)
        except ImageError as e:
            raise ValueError(str(e)) from None
        except (OSError, ValueError, KeyError, EOFError) as e:
            message = str(e)
            raise ValueError(message if message.startswith(str(path)) else f"{path}: not a saved blur map ({e})") from None
        probs = np.asarray(probs, np.float32)
        if not np.isfinite(probs).all():
            raise ValueError(f"{path}: the blur map holds NaN or infinite values")
        if probs.size and (probs.min() < -0.01 or probs.max() > 1.01):
            raise ValueError(f"{path}: the blur map's values are not probabilities (they range from "
                             f"{probs.min():g} to {probs.max():g})")
        return cls(probs)

    @classmethod
    def from_labels(cls, labels: np.ndarray) -> "BlurMap":
        """A hard (one-hot) map from class indices 0/1/2; handy for tests and masks."""
        labels = np.asarray(labels)
        probs = np.stack([(labels == c) for c in range(3)]).astype(np.float32)
        return cls(probs)


def _check_header(f, path: Path, shape: tuple[int, int] | None) -> None:
    """Read a .npy header from the open file `f` and check it describes float (3, H, W) data
    of the expected size."""
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    found, _, dtype = read(f)
    if len(found) != 3 or found[0] != 3:
        raise ValueError(f"{path}: holds an array of shape {found}, not blur probabilities of shape (3, H, W)")
    if dtype.kind != "f":
        raise ValueError(f"{path}: holds {dtype} values, not float probabilities")
    if shape is not None and tuple(found[1:]) != tuple(shape):
        raise ValueError(f"{path}: blur map of size {tuple(found[1:])} does not match the photo {tuple(shape)}")
