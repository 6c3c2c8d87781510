"""Photo -> BlurMap: device choice, working resolution, tiling and edge-aware upsampling.

The network sees the photo at a working resolution (long side `max_side`, the scale of blur it
was trained on); its probabilities are brought back to full photo resolution with a fast guided
filter (He & Sun 2015) that uses the photo itself as the guide, so region boundaries follow image
edges. The full-resolution step runs in horizontal strips so memory stays bounded for 50 MP photos.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from .blurmap import BlurMap
from .errors import Cancelled
from .model import STRIDE, BlurNet, BlurNetEnsemble, ModelCard, load_model, normalise
from .ops.guided import upsample_probs
from .ops.photo import to_photo
from .progress import Cancel, Progress, Reporter

__all__ = ["Cancelled", "Detector", "device_label", "pick_device"]

TILE = 1024  # network input tile side when the working image is larger than this
TILE_OVERLAP = 128  # blended overlap between tiles


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> CUDA, then Apple MPS, then CPU. An explicit device must be available."""
    name = str(device).lower()
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        return torch.device("cuda" if cuda_ok else "mps" if mps_ok else "cpu")
    if name.startswith("cuda") and not cuda_ok:
        raise ValueError("device 'cuda' was requested but PyTorch sees no CUDA GPU (is this a CPU-only torch build?)")
    if name == "mps" and not mps_ok:
        raise ValueError("device 'mps' was requested but Apple MPS is not available on this machine")
    try:
        return torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or mps ({e})") from None


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return "CPU"


class Detector:
    """Holds a loaded model; call it on photos.

    model: a bundled name ('compact', 'kim2018'), a path to a .pt file with its card, or a BlurNet
    or BlurNetEnsemble.
    device: 'auto', 'cpu', 'cuda', 'mps'. max_side: long side of the working resolution
    (default: the card's 'working_max_side', else 640: ModelCard's defaults). Photos are never upscaled. scales: factors of
    the working size to run the network at and average (default: the card's 'working_scales', else [1.0]).
    flip: also run the network on the mirror image and average (default: the card's 'working_flip',
    else False).
    """

    def __init__(
        self,
        model: str | os.PathLike | BlurNet | BlurNetEnsemble = "compact",
        device: str | torch.device = "auto",
        max_side: int | None = None,
        tile: int = TILE,
        scales: Sequence[float] | None = None,
        flip: bool | None = None,
    ) -> None:
        if isinstance(model, (BlurNet, BlurNetEnsemble)):
            net, entries = model, {"name": "custom"}
        else:
            net, entries = load_model(model)
        card = ModelCard.from_dict(entries)
        self.card: dict = card.entries  # the whole card as written, for the blur map's record and the GUI
        self.model_name: str = card.name or Path(str(model)).stem
        self.device: torch.device = pick_device(device)
        self.device_name: str = device_label(self.device)
        self.half: bool = self.device.type == "cuda"
        net = net.eval().to(self.device)
        if self.device.type in ("cpu", "cuda"):
            # NHWC convolutions are faster on both (oneDNN on CPU, tensor cores on CUDA); the
            # photo tensor below is NHWC already, being a permuted (H, W, 3) array.
            net = net.to(memory_format=torch.channels_last)
        self.net: BlurNet | BlurNetEnsemble = net.half() if self.half else net.float()
        if max_side is None:
            max_side = card.working_max_side
        if int(max_side) < STRIDE:
            raise ValueError(f"max_side must be at least {STRIDE}, got {max_side}")
        self.max_side: int = int(max_side)
        # By default the scales come with the weights: the card says which ones suit the model.
        scales = card.working_scales if scales is None else scales
        if not scales or not all(0.0 < float(x) <= 1.0 for x in scales):
            raise ValueError(f"working scales must be factors in (0, 1], got {list(scales)!r}")
        self.scales: tuple[float, ...] = tuple(float(x) for x in scales)
        self.flip: bool = card.working_flip if flip is None else bool(flip)
        self.tile: int = max(STRIDE * 4, int(tile) // STRIDE * STRIDE)

    def __repr__(self) -> str:
        return f"Detector(model={self.model_name!r}, device={self.device_name!r}, max_side={self.max_side})"

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) at which the network sees a photo of this size (never larger than the photo)."""
        scale = min(1.0, self.max_side / max(height, width))
        return max(1, round(height * scale)), max(1, round(width * scale))

    def __call__(self, image: np.ndarray, progress: Progress | None = None, cancel: Cancel | None = None) -> BlurMap:
        """(H, W, 3) uint8 RGB photo -> BlurMap with probabilities at full resolution."""
        image = to_photo(image)
        report = Reporter(progress, cancel, "blur detection")
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        wh, ww = self.working_size(h, w)
        small = image if (wh, ww) == (h, w) else cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
        t1 = time.perf_counter()
        report(0.02)
        probs_small = self.predict_small(small, report.part(0.02, 0.6))
        t2 = time.perf_counter()
        probs = upsample_probs(probs_small, small, image, report.part(0.6, 1.0))
        t3 = time.perf_counter()
        report(1.0, check=False)
        meta = {
            "model_name": self.model_name,
            "device_name": self.device_name,
            "card": self.card,
            "max_side": self.max_side,
            "scales": list(self.scales),
            "flip": self.flip,
            "working_size": [int(ww), int(wh)],
            "image_size": [int(w), int(h)],
            "timings": {
                "resize": t1 - t0,
                "network": t2 - t1,
                "upsample": t3 - t2,
                "total": t3 - t0,
            },
        }
        return BlurMap(probs, meta)

    def predict_small(self, image: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """Run the network on an image at working resolution -> (3, h, w) float32 probabilities.

        With several `scales` the network also sees the image shrunk by each factor, and the
        probabilities are averaged on the working grid: one photo shows blur at several scales, and
        the average is steadier than any single one (measured in the README).
        """
        h, w = image.shape[:2]
        total = np.zeros((3, h, w), np.float32)
        for i, s in enumerate(self.scales):
            sh, sw = max(1, round(h * s)), max(1, round(w * s))
            scaled = image if (sh, sw) == (h, w) else cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
            p = self._predict_tiled(scaled, progress and (lambda f, i=i: progress((i + f) / len(self.scales))))
            if (sh, sw) != (h, w):
                p = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in p])
            total += p
        return total / len(self.scales)

    def _predict_tiled(self, image: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """The network at the image's own size. Pads (reflect) to a multiple of STRIDE; images larger
        than the tile size run in overlapping tiles blended with linear ramps, so memory stays bounded."""
        h, w = image.shape[:2]
        ph, pw = -h % STRIDE, -w % STRIDE
        # numpy's reflect handles pads larger than the image (tiny photos), torch's does not.
        padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
        H, W = padded.shape[:2]
        ys, xs = _tile_starts(H, self.tile), _tile_starts(W, self.tile)
        th, tw = min(H, self.tile), min(W, self.tile)
        single = len(ys) == 1 and len(xs) == 1
        out = np.zeros((3, H, W), np.float32)
        weight = None if single else np.zeros((H, W), np.float32)
        overlap = _overlap(self.tile)
        ramp = None if single else np.outer(_ramp(th, overlap), _ramp(tw, overlap))
        n, done = len(ys) * len(xs), 0
        for y in ys:
            for x in xs:
                p = self._run_net(padded[y : y + th, x : x + tw])
                if single:
                    out = p
                else:
                    out[:, y : y + th, x : x + tw] += p * ramp
                    weight[y : y + th, x : x + tw] += ramp
                done += 1
                if progress:
                    progress(done / n)
        if weight is not None:
            out /= weight
        return np.ascontiguousarray(out[:, :h, :w])

    def _run_net(self, tile: np.ndarray) -> np.ndarray:
        dtype = torch.float16 if self.half else torch.float32
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(tile)).to(self.device)
            x = x.permute(2, 0, 1)[None].float().div_(255.0)
            if self.flip:  # the mirror image in the same batch; its map is mirrored back
                x = torch.cat([x, x.flip(-1)])
            logits = self.net(normalise(x).to(dtype))[-1]  # the finest head
            probs = torch.softmax(logits.float(), dim=1)
            p = (probs[0] + probs[1].flip(-1)) / 2 if self.flip else probs[0]
            return p.cpu().numpy()


def _overlap(tile: int) -> int:
    """Tile overlap: TILE_OVERLAP, or a quarter of small tiles (a multiple of STRIDE)."""
    return max(STRIDE, min(TILE_OVERLAP, tile // 4 // STRIDE * STRIDE))


def _tile_starts(length: int, tile: int) -> list[int]:
    """Tile origins covering [0, length) with at least _overlap(tile) overlap.
    length and tile are multiples of STRIDE, and so are the origins."""
    if length <= tile:
        return [0]
    step = tile - _overlap(tile)
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _ramp(n: int, overlap: int) -> np.ndarray:
    """Blend weights rising linearly over `overlap` pixels at both ends, never zero."""
    i = np.arange(n, dtype=np.float32)
    r = np.minimum(i + 1, n - i) / float(overlap + 1)
    return np.clip(r, 1e-3, 1.0)
