"""Benchmark helper scripts: bad input is refused clearly and leaves nothing behind."""

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_real_set_without_its_packages_leaves_no_folder(tmp_path, monkeypatch):
    make_real_set = _script("make_real_set")
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    out = tmp_path / "real"
    with pytest.raises(SystemExit, match="pip install scikit-image scikit-learn"):
        make_real_set.main(["--out", str(out)])
    assert not out.exists()


def test_make_real_set_refuses_a_folder_with_files(tmp_path):
    make_real_set = _script("make_real_set")
    (tmp_path / "mine.jpg").write_bytes(b"not ours")
    with pytest.raises(SystemExit, match="not an empty folder"):
        make_real_set.main(["--out", str(tmp_path)])
    assert (tmp_path / "mine.jpg").read_bytes() == b"not ours"


def test_whole_frame_motion_reports_each_kernel_per_photo(tmp_path, capsys):
    whole_frame_motion = _script("whole_frame_motion")
    with pytest.raises(SystemExit, match="no image"):
        whole_frame_motion.main(["--data", str(tmp_path)])
    (tmp_path / "image").mkdir()
    rng = np.random.default_rng(0)
    photo = cv2.resize(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), (128, 96), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(tmp_path / "image" / "blocks.jpg"), photo)
    with pytest.raises(SystemExit, match="error: .*nothere"):
        whole_frame_motion.main(["--data", str(tmp_path), "--weights", str(tmp_path / "nothere.pt")])
    assert whole_frame_motion.main(["--data", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("compact blocks:")
    fractions = [float(x) for x in line.replace(";", " ").split() if x.replace(".", "").isdigit()]
    assert len(fractions) == 8 and all(0 <= f <= 1 for f in fractions)
    # The 28-pixel streak blurs a 96-pixel photo of 4-pixel blocks beyond doubt: it must not read sharp.
    assert fractions[4] + fractions[5] > 0.5


def test_orientations_undo_each_transform_and_refuse_bad_input(tmp_path, capsys):
    orientations = _script("orientations")
    import torch

    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    seen = set()
    for name, (forward, inverse) in orientations.ORIENTATIONS.items():
        assert torch.equal(inverse(forward(x)), x), name
        seen.add(forward(x).flatten().tolist().__repr__())
    assert len(seen) == 8  # eight different orientations, not repeats
    assert all(set(keys) <= set(orientations.ORIENTATIONS) for keys in orientations.AVERAGES.values())

    with pytest.raises(SystemExit, match="must contain image/ and gt/"):
        orientations.main(["--data", str(tmp_path)])
    with pytest.raises(SystemExit, match="--weights"):
        orientations.main(["--weights", str(tmp_path / "none.pt"), "--data", str(tmp_path)])


def test_agreement_of_weights_with_themselves_is_total(tmp_path, tiny_model_path, capsys):
    agreement = _script("agreement")
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(photos / f"p{i}.png"), rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
    (photos / "notes.txt").write_text("not a photo")
    assert agreement.main(["--weights", str(tiny_model_path), str(tiny_model_path), "--photos", str(photos)]) == 0
    out = capsys.readouterr().out
    assert "(mean over 3 photos)" in out and "differs: 0.000 on average, 0.000 at most" in out
    shares = out.split("sharp / motion / defocus ")[1].split(" (")[0].split(" / ")
    assert sum(map(float, shares)) == pytest.approx(1.0, abs=0.002)  # every pixel has one class

    with pytest.raises(SystemExit):
        agreement.main(["--weights", str(tiny_model_path), str(tiny_model_path), "--photos", str(tmp_path / "none")])
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--weights"):
        agreement.main(["--weights", str(tmp_path / "x.pt"), str(tiny_model_path), "--photos", str(photos)])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SystemExit, match="none of the photos could be read"):
        agreement.main(["--weights", str(tiny_model_path), str(tiny_model_path), "--photos", str(broken)])
    assert (broken / "a.jpg").read_bytes() == b"not a jpeg"


def test_bench_real_baseline_and_whole_frame_blur_find_the_blur():
    bench_real = _script("bench_real")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    img[:, 64:] = cv2.GaussianBlur(img[:, 64:], (0, 0), 4)
    score = bench_real.laplacian_blur_score(img)
    assert score[:, 8:48].mean() < 0.5 < score[:, 80:120].mean()  # textured left sharp, blurred right blurred
    blurred = bench_real.whole_frame([("a", img[:, :64].copy())])
    sharp_energy = cv2.Laplacian(img[:, :64], cv2.CV_32F).var()
    for kind in ("motion", "defocus"):
        assert cv2.Laplacian(blurred[kind][0], cv2.CV_32F).var() < 0.3 * sharp_energy
