"""`blurstudio cull` end to end with the tiny model: report files valid, resume after an interrupt
without detecting again, bad inputs reported while the batch goes on, inputs never written."""

import csv
import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from blurstudio.cli import main
from blurstudio.cull import VERDICTS
from blurstudio.cull_batch import Settings, cull_photos
from blurstudio.detect import Detector
from blurstudio.report import CSV_COLUMNS


def make_shoot(folder: Path, n: int = 3) -> list[Path]:
    rng = np.random.default_rng(1)
    (folder / "day2").mkdir(parents=True)
    paths = []
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 255, (90 + 10 * i, 120, 3), dtype=np.uint8), (0, 0), 0.5 + i)
        p = folder / ("day2" if i == n - 1 else "") / f"IMG_{i:04d}.jpg"
        cv2.imwrite(str(p), img)
        paths.append(p)
    return paths


def digest(folder: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


class Sheet(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.links, self.sections, self.buttons = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])
        elif tag == "section" and "data-verdict" in a:
            self.sections.append(a["data-verdict"])
        elif tag == "button":
            self.buttons.append(a["data-v"])


@pytest.fixture
def counting(monkeypatch):
    """Counts the network's runs; `stop_at` makes the n-th run raise KeyboardInterrupt (Ctrl+C)."""
    state = {"calls": 0, "stop_at": None}
    original = Detector.predict_small

    def predict_small(self, image, progress=None):
        state["calls"] += 1
        if state["stop_at"] == state["calls"]:
            raise KeyboardInterrupt
        return original(self, image, progress)

    monkeypatch.setattr(Detector, "predict_small", predict_small)
    return state


def cull(args, tiny_model_path):
    return main(["cull", *map(str, args), "--model", str(tiny_model_path), "--device", "cpu", "--workers", "0"])


def test_report_files_are_valid(tmp_path, tiny_model_path, capsys):
    shoot = tmp_path / "shoot"
    photos = make_shoot(shoot)
    before = digest(shoot)
    out = tmp_path / "report"
    assert cull([shoot, "-r", "-o", out], tiny_model_path) == 0
    assert digest(shoot) == before  # inputs untouched, and no sidecar without --xmp
    assert "3 photos" in capsys.readouterr().out

    sheet = Sheet()
    sheet.feed((out / "index.html").read_text())
    sheet.close()
    assert len(sheet.imgs) == 3 and all(s.startswith("data:image/jpeg;base64,") for s in sheet.imgs)
    assert all((out / href).is_file() for href in sheet.links) and len(sheet.links) == 3
    assert sheet.buttons[0] == "all" and set(sheet.buttons[1:]) == set(VERDICTS)
    assert set(sheet.sections) <= set(VERDICTS)

    with open(out / "cull.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    assert sorted(r["path"] for r in rows) == sorted(map(str, photos))
    for r in rows:
        assert r["verdict"] in VERDICTS and 0 <= int(r["score"]) <= 100 and 1 <= int(r["rating"]) <= 5

    doc = json.loads((out / "cull.json").read_text())
    assert doc["version"] == 1 and doc["model"] == "tiny" and len(doc["model_sha256"]) == 64
    assert set(doc["counts"]) == set(VERDICTS) and sum(doc["counts"].values()) == 3
    assert set(doc["thresholds"]) >= {"sharp_min", "missed_sharp_max"} and doc["errors"] == []
    for p in doc["photos"]:
        assert {"path", "verdict", "score", "rating", "reason", "sharp", "motion", "defocus", "subject",
                "subject_box", "subject_centre", "blur_px", "overlay", "thumb", "width", "height"} <= p.keys()
        assert (out / p["overlay"]).is_file() and (out / p["thumb"]).is_file()
        assert len(p["subject_box"]) == 4 and abs(p["sharp"] + p["motion"] + p["defocus"] - 1) < 1e-3
    # Sorted by verdict, then score.
    keys = [(VERDICTS.index(p["verdict"]), -p["score"]) for p in doc["photos"]]
    assert keys == sorted(keys)


def test_interrupted_run_resumes_without_detecting_again(tmp_path, tiny_model_path, counting):
    shoot = tmp_path / "shoot"
    make_shoot(shoot, 4)
    out = tmp_path / "report"
    counting["stop_at"] = 3  # Ctrl+C during the third photo's detection
    assert cull([shoot, "-r", "-o", out], tiny_model_path) == 130
    cached = list((out / ".cache").glob("*.npz"))
    assert 1 <= len(cached) <= 2 and not list(out.rglob(".bs-*.tmp"))  # whole entries only
    counting.update(calls=0, stop_at=None)
    assert cull([shoot, "-r", "-o", out], tiny_model_path) == 0
    assert counting["calls"] == 4 - len(cached)  # only the photos not cached were detected
    counting["calls"] = 0
    assert cull([shoot, "-r", "-o", out], tiny_model_path) == 0
    assert counting["calls"] == 0  # everything cached
    assert len(json.loads((out / "cull.json").read_text())["photos"]) == 4


def test_changed_photo_or_missing_pictures_are_handled(tmp_path, tiny_model_path, counting):
    shoot = tmp_path / "shoot"
    photos = make_shoot(shoot, 3)
    out = tmp_path / "report"
    assert cull([shoot, "-r", "-o", out], tiny_model_path) == 0
    counting["calls"] = 0
    for thumb in (out / "thumbs").iterdir():
        thumb.unlink()  # pictures gone: redrawn from the cache, no network
    img = cv2.imread(str(photos[0]))
    cv2.imwrite(str(photos[0]), 255 - img)  # an edited photo is detected again
    assert cull([shoot, "-r", "-o", out], tiny_model_path) == 0
    assert counting["calls"] == 1 and len(list((out / "thumbs").iterdir())) == 3


def test_bad_inputs_are_reported_and_the_batch_goes_on(tmp_path, tiny_model_path, capsys):
    shoot = tmp_path / "shoot"
    make_shoot(shoot, 2)
    (shoot / "corrupt.jpg").write_bytes(b"not a jpeg at all")
    good = (shoot / "IMG_0000.jpg").read_bytes()
    (shoot / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (shoot / "empty.png").write_bytes(b"")
    out = shoot / "report"  # inside the shoot: its pictures must not become inputs on a re-run
    before = digest(shoot)
    code = cull([shoot, tmp_path / "missing.jpg", "-r", "-o", out], tiny_model_path)
    err = capsys.readouterr().err
    assert code == 1
    for name in ("corrupt.jpg", "truncated.jpg", "empty.png", "missing.jpg"):
        assert name in err
    assert "Traceback" not in err
    doc = json.loads((out / "cull.json").read_text())
    assert len(doc["photos"]) == 2 and len(doc["errors"]) == 4
    assert all(v == digest(shoot)[p] for p, v in before.items())  # no input written over
    assert cull([shoot, "-r", "-o", out], tiny_model_path) == 1
    doc = json.loads((out / "cull.json").read_text())
    assert len(doc["photos"]) == 2  # the report's thumbnails were not taken for photos


def test_usage_errors(tmp_path, tiny_model_path, capsys):
    (tmp_path / "file").write_text("x")
    assert cull([tmp_path, "-o", tmp_path / "file"], tiny_model_path) == 2
    assert cull([tmp_path / "nothing_here", "-o", tmp_path / "r"], tiny_model_path) == 1
    assert "no such file" in capsys.readouterr().err


def test_worker_processes_give_the_same_verdicts(tmp_path, tiny_model_path):
    shoot = tmp_path / "shoot"
    photos = make_shoot(shoot, 3)
    (shoot / "bad.jpg").write_bytes(b"junk")
    det = Detector(tiny_model_path, device="cpu")
    settings = Settings("x" * 64, det.max_side, det.scales, det.flip)
    serial = {r.path: r for r in cull_photos(photos + [shoot / "bad.jpg"], det.predict_small, settings, tmp_path / "a", workers=0)}
    parallel = {r.path: r for r in cull_photos(photos + [shoot / "bad.jpg"], det.predict_small, settings, tmp_path / "b", workers=1)}
    assert serial.keys() == parallel.keys()
    for p in photos:
        a, b = serial[p].measures, parallel[p].measures
        assert (a.sharp, a.motion, a.defocus, a.subject_box) == (b.sharp, b.motion, b.defocus, b.subject_box)
        assert a.blur_radius == pytest.approx(b.blur_radius, rel=1e-3, abs=1e-4)
    assert parallel[shoot / "bad.jpg"].error and "bad.jpg" in parallel[shoot / "bad.jpg"].error


def test_reduced_jpeg_decoding_keeps_the_long_side(tmp_path):
    from blurstudio.images import read_image

    img = np.random.default_rng(0).integers(0, 255, (1000, 1600, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "big.jpg"), img)
    small = read_image(tmp_path / "big.jpg", reduce_to=300)
    assert small.shape == (250, 400, 3)  # 1/4 scale: the smallest DCT scale with a long side >= 300
    assert read_image(tmp_path / "big.jpg", reduce_to=2000).shape == img.shape


def test_worker_side_needs_no_torch(tmp_path):
    """What the decoding/drawing processes run (decode, finish with its cache entry) imports no torch:
    importing it cost each worker 1.6 s and 190 MB."""
    import subprocess
    import sys

    photo = tmp_path / "p.jpg"
    cv2.imwrite(str(photo), cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8), (0, 0), 3))
    code = f"""
import sys
from pathlib import Path
import numpy as np
from blurstudio.cull_batch import decode, finish, load_entry
small, view, full = decode(Path({str(photo)!r}), 64)
probs = np.zeros((3,) + small.shape[:2], np.float32)
probs[2] = 1.0  # all defocus: the blur amount is estimated as well
out = Path({str(tmp_path)!r})
m = finish(probs, small, view, full, out / "o.jpg", out / "t.jpg", (out, "key"))
assert load_entry(out, "key") is not None and m.blur_radius > 0, m
assert "torch" not in sys.modules, "a worker imported torch"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_workers_run_below_the_networks_priority():
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from blurstudio import cull_batch

    base = os.nice(0)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=cull_batch._worker_init) as pool:
        niceness = pool.submit(os.nice, 0).result()
    assert niceness == min(19, base + cull_batch.WORKER_NICENESS)
