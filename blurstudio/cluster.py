"""Culling bigger than one machine: the per-photo function on Ray Data (optional extra `[cluster]`).

The unit of work is `cull_bytes`: a photo file's bytes -> its verdict record (the same measures and
rules as `blurstudio cull`). `cull_with_ray` maps it over a folder or a list of URIs (anything
`ray.data.read_binary_files` reads: local paths, s3://, gs://...) with `map_batches` and a pool of
actors that each load the model once, on a GPU each when `gpus_per_worker` is set. Ray does the
scheduling, retries and spilling; there is no scheduler of our own.

    pip install 'blurstudio[cluster]'
    from blurstudio.cluster import cull_with_ray
    records = cull_with_ray(["s3://bucket/shoot/"], model="compact", workers=8, gpus_per_worker=1)

No cache, no report pictures here: the records are returned (or written by Ray, e.g. ds.write_json).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .cull import CullConfig, decide, measure
from .cull_batch import working_size
from .errors import BlurStudioError
from .ops.resample import resize


def cull_array(rgb: np.ndarray, detector, config: CullConfig | None = None) -> dict:
    """One decoded photo (H, W, 3) uint8 -> its verdict record (verdict, score, rating, reason, measures)."""
    h, w = rgb.shape[:2]
    wh, ww = working_size(h, w, detector.max_side)
    small = resize(rgb, (wh, ww))
    m = measure(detector.predict_small(small), small, max(h, w))
    return {**decide(m, config or CullConfig()).to_dict(), "width": int(w), "height": int(h)}


def cull_bytes(data: bytes, name: str, detector, config: CullConfig | None = None) -> dict:
    """A photo file's bytes (any format read_image reads, raw included) -> its record, or {"error": ...}.
    The bytes go through a temporary file so every check of read_image applies unchanged."""
    from .images import read_image

    fd, tmp = tempfile.mkstemp(suffix=Path(name).suffix.lower() or ".jpg")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        rgb = read_image(tmp, reduce_to=2 * detector.max_side)
        return {"path": name, **cull_array(rgb, detector, config)}
    except (BlurStudioError, ValueError, OSError, RuntimeError) as e:
        return {"path": name, "error": str(e).replace(tmp, name)}
    finally:
        os.unlink(tmp)


class _RayCuller:
    """A Ray actor: loads the model once, then culls batches of {"bytes", "path"}."""

    def __init__(self, model: str, device: str) -> None:
        from .detect import Detector

        self.detector = Detector(model, device=device)

    def __call__(self, batch: dict) -> dict:
        import json

        records = [cull_bytes(bytes(b), str(p), self.detector) for b, p in zip(batch["bytes"], batch["path"])]
        return {"record": np.array([json.dumps(r) for r in records], dtype=object)}


def cull_with_ray(sources: list[str], model: str = "compact", workers: int = 2, gpus_per_worker: float = 0,
                  batch_size: int = 4) -> list[dict]:
    """Cull every photo under `sources` (folders, files or URIs) on the running (or a local) Ray
    cluster; returns one record per photo, errors as {"path", "error"}."""
    try:
        import ray
    except ImportError:
        raise BlurStudioError("the Ray path needs Ray Data: pip install 'blurstudio[cluster]'") from None
    import json

    from .images import READ_SUFFIXES

    ds = ray.data.read_binary_files(sources, include_paths=True, file_extensions=[s.lstrip(".") for s in READ_SUFFIXES])
    ds = ds.map_batches(_RayCuller, fn_constructor_kwargs={"model": model, "device": "cuda" if gpus_per_worker else "cpu"},
                        concurrency=workers, num_gpus=gpus_per_worker, batch_size=batch_size, batch_format="numpy")
    return [json.loads(row["record"]) for row in ds.take_all()]
