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
