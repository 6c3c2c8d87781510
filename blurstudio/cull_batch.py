"""Culling many photos: parallel decoding, the network in the main process, a resumable cache.

Pipeline (`cull_photos`): worker processes decode each photo (JPEGs at reduced DCT scale, raw files
through their preview) to the detector's working size and a view size; the main process runs the
network on the small image; worker processes then measure the map (`cull.measure`, whose blur-amount
estimate is the costly part) and write the overlay and the thumbnail. So the network, not decoding
or drawing, bounds the speed, and only small arrays cross between processes. At most a few photos
are in flight at once, so memory stays flat however many photos there are.

Cache (`REPORT/.cache/KEY.npz`): for each photo the working-size probabilities (8-bit) and the
measures, keyed by the file's absolute path, size and modification time, the model's sha256 and the
detector settings. Each entry is written atomically the moment its photo is done, so an interrupted
run (Ctrl+C, SIGTERM, a crash) leaves only whole entries, and a re-run resumes: cached photos are
not detected again (verdicts are decided afresh from the cached measures, so new thresholds apply).

No Qt; the GUI's filmstrip and the command line share this.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from .cull import Measures, measure, sharp_outline
from .errors import BlurStudioError, ImageError
from .images import atomic_write, image_size, read_image, write_image
from .ops.guided import upsample_probs
from .ops.resample import resize

CACHE_VERSION = 1  # bump when what an entry holds changes
VIEW_SIDE = 1280  # long side of the overlay linked from the report
THUMB_SIDE = 320  # long side of the contact-sheet thumbnails
WORKER_NICENESS = 19  # lowest priority: the workers only use what the network leaves
OUTLINE_RGB = (255, 214, 0)  # sharp-region outline on thumbnails: yellow shows on most photos


@dataclass(frozen=True)
class Settings:
    """What a cached map depends on besides the file: the model and the detector's working size."""

    model_sha: str
    max_side: int
    scales: tuple[float, ...]
    flip: bool

    def key(self, path: Path) -> str:
        st = path.stat()
        text = json.dumps([CACHE_VERSION, str(path.resolve()), st.st_size, st.st_mtime_ns, self.model_sha,
                           self.max_side, list(self.scales), self.flip])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Result:
    """One photo's outcome: measures (None on error), where its pictures are, and how it went."""

    path: Path
    photo_id: str
    measures: Measures | None = None
    full_size: tuple[int, int] = (0, 0)  # (width, height) as displayed
    error: str | None = None
    cached: bool = False


def photo_id(path: Path) -> str:
    """A file-name-safe id, unique per photo path (two IMG_0001.jpg in different folders differ)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[:60]
    return f"{stem}-{digest}"


# ------------------------------------------------------------------------------------------------
# the cache
# ------------------------------------------------------------------------------------------------

def load_entry(cache_dir: Path, key: str) -> tuple[np.ndarray, Measures, tuple[int, int]] | None:
    """(probabilities (3, h, w) float32, measures, full size) of a cached photo, or None. A damaged
    entry counts as absent (it is simply redone)."""
    path = cache_dir / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            probs = z["probs"].astype(np.float32) / 255.0
            meta = json.loads(str(z["meta"]))
        return probs, Measures.from_dict(meta["measures"]), tuple(meta["full_size"])
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None


def save_entry(cache_dir: Path, key: str, probs: np.ndarray, measures: Measures, full_size: tuple[int, int]) -> None:
    q = np.clip(probs * 255.0 + 0.5, 0, 255).astype(np.uint8)
    meta = json.dumps({"measures": measures.to_dict(), "full_size": list(full_size)})
    atomic_write(cache_dir / f"{key}.npz", lambda f: np.savez_compressed(f, probs=q, meta=np.array(meta)))


# ------------------------------------------------------------------------------------------------
# work done in worker processes (module-level functions: they are pickled by name)
# ------------------------------------------------------------------------------------------------

def _worker_init() -> None:
    # The main process handles Ctrl+C and shuts the pool down; workers stay quiet (no tracebacks).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The network in the main process gets the cores first: decoding and drawing fill its idle time.
    # At normal priority they preempted the network's threads, which then waited for each other at
    # every layer (24 MP on 2 cores: 24-37 % below the network alone, niced 10-22 %; docs/culling.md).
    cv2.setNumThreads(1)
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)


def working_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """As Detector.working_size: the network's input size for a photo (never larger than it)."""
    s = min(1.0, max_side / max(height, width))
    return max(1, round(height * s)), max(1, round(width * s))


def decode(path: Path, max_side: int, view_side: int = VIEW_SIDE) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(working-size photo, view-size photo, full (width, height)) for one photo file."""
    w, h = image_size(path)
    rgb = read_image(path, reduce_to=view_side)
    # The working size follows the full size, as the detector's would, whatever the decoded scale.
    small = resize(rgb, working_size(h, w, max_side))
    s = min(1.0, view_side / max(rgb.shape[:2]))
    # The JPEG was decoded at about the view size already: a mild shrink, linear is enough (and 4x
    # faster than area averaging at such ratios).
    view = resize(rgb, (max(1, round(rgb.shape[0] * s)), max(1, round(rgb.shape[1] * s))),
                  cv2.INTER_LINEAR if s > 0.5 else None)
    return small, view, (w, h)


def finish(probs: np.ndarray, small: np.ndarray, view: np.ndarray, full_size: tuple[int, int],
           overlay_path: Path, thumb_path: Path, entry: tuple[Path, str] | None = None) -> Measures:
    """Measure the map, write the overlay (view size) and the outlined thumbnail, then the cache
    entry (cache folder, key) when given: last, so that an entry means the pictures exist. Here in a
    worker, not in the main process, whose every second is the network's."""
    from .blurmap import BlurMap

    m = measure(probs, small, max(full_size))
    view_probs = upsample_probs(probs, small, view)
    write_image(overlay_path, BlurMap(view_probs).overlay(view), quality=85)
    s = THUMB_SIDE / max(view.shape[:2])
    th, tw = max(1, round(view.shape[0] * s)), max(1, round(view.shape[1] * s))
    thumb = resize(view, (th, tw)).copy() if s < 1 else view.copy()
    cv2.drawContours(thumb, sharp_outline(probs, thumb.shape[:2]), -1, OUTLINE_RGB, 2, cv2.LINE_AA)
    write_image(thumb_path, thumb, quality=85)
    if entry is not None:
        save_entry(*entry, probs, m, full_size)
    return m


def _decode_and_finish(path: Path, max_side: int, probs: np.ndarray, overlay: Path, thumb: Path) -> tuple[Measures, tuple[int, int]]:
    """For cached maps whose pictures are missing: decode and draw, no network."""
    small, view, full = decode(path, max_side)
    if probs.shape[1:] != small.shape[:2]:
        raise ImageError(f"{path}: the cached map does not fit the photo; delete the report's .cache folder")
    return finish(probs, small, view, full, overlay, thumb), full


# ------------------------------------------------------------------------------------------------
# the pipeline
# ------------------------------------------------------------------------------------------------

def _drawn(item: tuple) -> Result:
    """A finished drawing's Result."""
    res, fresh, fut = item
    try:
        out = fut.result()
    except (BlurStudioError, ValueError, OSError, MemoryError, RuntimeError) as e:
        res.error = _message(res.path, e)
        return res
    if fresh:
        res.measures = out
    else:  # re-drawn from the cache
        res.measures, res.full_size = out
    return res

# ------------------------------------------------------------------------------------------------

def _message(path: Path, e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text if str(path) in text else f"{path}: {text}"


def cull_photos(
    paths: list[Path],
    predict: Callable[[np.ndarray], np.ndarray],
    settings: Settings,
    out_dir: Path,
    workers: int = 2,
) -> Iterator[Result]:
    """Cull `paths` in order, yielding a Result per photo as it completes (possibly out of order).

    predict: working-size RGB uint8 -> (3, h, w) probabilities (Detector.predict_small).
    out_dir: the report folder; pictures go to out_dir/overlays and out_dir/thumbs, the cache to
    out_dir/.cache. workers: decoding/drawing processes (0: everything in this process, for tests and
    debugging). Errors of one photo (unreadable, corrupt) come back as a Result with `error` set.
    """
    cache_dir, overlays, thumbs = out_dir / ".cache", out_dir / "overlays", out_dir / "thumbs"
    for d in (cache_dir, overlays, thumbs):
        d.mkdir(parents=True, exist_ok=True)
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init) if workers > 0 else None

    def submit(fn, *args) -> Future:
        if pool is not None:
            return pool.submit(fn, *args)
        f: Future = Future()
        try:
            f.set_result(fn(*args))
        except Exception as e:  # noqa: BLE001 - handed back like a worker's exception
            f.set_exception(e)
        return f

    window = max(2, 2 * workers)  # photos decoded ahead of the network: bounds memory
    decoding: deque = deque()  # (result, key, future of decode)
    drawing: deque = deque()  # (result, freshly detected?, future of finish or decode-and-finish)
    todo = deque(paths)
    try:
        while todo or decoding or drawing:
            # Queue decoding up to the window; cached photos need no network.
            while todo and len(decoding) + len(drawing) < window:
                path = todo.popleft()
                res = Result(path, photo_id(path))
                try:
                    key = settings.key(path)
                except OSError as e:
                    res.error = _message(path, ImageError(f"cannot be read ({e.strerror})"))
                    yield res
                    continue
                overlay, thumb = overlays / f"{res.photo_id}.jpg", thumbs / f"{res.photo_id}.jpg"
                entry = load_entry(cache_dir, key)
                if entry is not None:
                    probs, m, full = entry
                    res.cached, res.full_size = True, full
                    if overlay.is_file() and thumb.is_file():
                        res.measures = m
                        yield res
                        continue
                    drawing.append((res, False, submit(_decode_and_finish, path, settings.max_side, probs, overlay, thumb)))
                    continue
                decoding.append((res, key, submit(decode, path, settings.max_side)))
            # Hand back drawings that are done, then run the network on the oldest decoded photo
            # while the workers decode the next ones and draw the previous ones.
            while drawing and (drawing[0][2].done() or (not decoding and not todo) or len(drawing) >= window):
                yield _drawn(drawing.popleft())
            if decoding:
                res, key, fut = decoding.popleft()
                try:
                    small, view, full = fut.result()
                    probs = predict(small)
                except (BlurStudioError, ValueError, OSError, MemoryError, RuntimeError) as e:
                    res.error = _message(res.path, e)
                    yield res
                    continue
                res.full_size = full
                overlay, thumb = overlays / f"{res.photo_id}.jpg", thumbs / f"{res.photo_id}.jpg"
                drawing.append((res, True, submit(finish, probs, small, view, full, overlay, thumb, (cache_dir, key))))
            elif drawing:
                yield _drawn(drawing.popleft())
    finally:  # also on KeyboardInterrupt / Terminated: stop the workers, keep the whole entries
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
