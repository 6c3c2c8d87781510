"""The Ray Data path: the per-photo unit always; on a local Ray instance when the extra is installed."""

import cv2
import numpy as np
import pytest

from blurstudio.cluster import cull_bytes
from blurstudio.cull import VERDICTS
from blurstudio.detect import Detector


def test_per_photo_unit_from_bytes(tmp_path, tiny_model_path):
    det = Detector(tiny_model_path, device="cpu")
    _, data = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8))
    rec = cull_bytes(data.tobytes(), "s3://bucket/a.jpg", det)
    assert rec["verdict"] in VERDICTS and rec["path"] == "s3://bucket/a.jpg" and (rec["width"], rec["height"]) == (80, 60)
    bad = cull_bytes(b"junk", "s3://bucket/b.jpg", det)
    assert "error" in bad and "s3://bucket/b.jpg" in bad["error"]


def test_ray_data_on_a_local_instance(tmp_path, tiny_model_path):
    ray = pytest.importorskip("ray", reason="the [cluster] extra (ray[data]) is not installed")
    from blurstudio.cluster import cull_with_ray

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"p{i}.jpg"), np.random.default_rng(i).integers(0, 255, (60, 80, 3), dtype=np.uint8))
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        records = cull_with_ray([str(tmp_path)], model=str(tiny_model_path), workers=1)
    finally:
        ray.shutdown()
    assert sorted(r["path"].rsplit("/", 1)[-1] for r in records) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert all(r["verdict"] in VERDICTS for r in records)
