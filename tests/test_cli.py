"""`blurstudio detect` end to end: outputs, batches with bad files, never writing over inputs, exit codes."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from blurstudio import __version__
from blurstudio.cli import main
from blurstudio.images import write_image


def _jpeg_with_orientation(path, w, h, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    a = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(a).save(path, exif=exif.tobytes())


def _photo(path, h=40, w=60, seed=0):
    write_image(path, np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
    return path


def test_detect_end_to_end(tmp_path, tiny_model_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _jpeg_with_orientation(src / "turned.jpg", 64, 32, 6)  # displayed 32 wide, 64 high
    _photo(src / "flat.png", 40, 70)
    out = tmp_path / "out" / "deeper"
    rc = main(["detect", str(src), "-o", str(out), "--model", str(tiny_model_path), "--probs", "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "tiny" and report["errors"] == []
    assert {p["input"] for p in report["photos"]} == {str(src / "turned.jpg"), str(src / "flat.png")}
    for stem, (w, h) in {"turned": (32, 64), "flat": (70, 40)}.items():
        labels = Image.open(out / f"{stem}_labels.png")
        blur = Image.open(out / f"{stem}_blur.png")
        overlay = Image.open(out / f"{stem}_overlay.jpg")
        assert labels.size == blur.size == overlay.size == (w, h)
        assert labels.mode == "L" and blur.mode == "L" and overlay.mode == "RGB"
        assert set(np.unique(np.asarray(labels))) <= {0, 100, 200}
        probs = np.load(out / f"{stem}_probs.npy")
        assert probs.dtype == np.float16 and probs.shape == (3, h, w)
        assert np.allclose(probs.astype(np.float32).sum(axis=0), 1.0, atol=1e-2)
    entry = next(p for p in report["photos"] if p["input"].endswith("flat.png"))
    assert abs(sum(entry["fractions"].values()) - 1.0) < 1e-3 and entry["size"] == [70, 40]
    assert entry["timings"]["total"] >= 0


def test_masks_next_to_photo_and_rerun_skips_them(tmp_path, tiny_model_path, capsys):
    _photo(tmp_path / "a.png")
    assert main(["detect", str(tmp_path), "--model", str(tiny_model_path)]) == 0
    assert "a.png" in capsys.readouterr().out
    assert main(["detect", str(tmp_path), "--model", str(tiny_model_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["a.png", "a_blur.png", "a_labels.png", "a_overlay.jpg"]


def test_batch_with_a_corrupt_photo(tmp_path, tiny_model_path, capsys):
    _photo(tmp_path / "good1.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    _photo(tmp_path / "good2.png", seed=2)
    out = tmp_path / "out"
    rc = main(["detect", str(tmp_path / "*.*"), "-o", str(out), "--model", str(tiny_model_path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err
    for stem in ("good1", "good2"):
        assert (out / f"{stem}_labels.png").is_file() and (out / f"{stem}_overlay.jpg").is_file()
    assert not (out / "broken_labels.png").exists()


def test_never_writes_over_an_input(tmp_path, tiny_model_path, capsys):
    photo = _photo(tmp_path / "x.png")
    victim = _photo(tmp_path / "x_labels.png", seed=5)  # an input that x.png's mask would replace
    before = victim.read_bytes()
    rc = main(["detect", str(photo), str(victim), "--model", str(tiny_model_path)])
    assert rc == 1
    assert "refusing to write over the input" in capsys.readouterr().err
    assert victim.read_bytes() == before
    assert (tmp_path / "x_labels_labels.png").is_file()  # the other input was processed


def test_same_stem_in_one_output_folder(tmp_path, tiny_model_path):
    _photo(tmp_path / "a.png")
    _photo(tmp_path / "a.bmp")
    assert main(["detect", str(tmp_path / "a.png"), str(tmp_path / "a.bmp"), "--model", str(tiny_model_path)]) == 0
    assert (tmp_path / "a_labels.png").is_file() and (tmp_path / "a_bmp_labels.png").is_file()


def test_missing_input_is_reported(tmp_path, tiny_model_path, capsys):
    _photo(tmp_path / "a.png")
    rc = main(["detect", str(tmp_path / "a.png"), str(tmp_path / "nope.jpg"), "--model", str(tiny_model_path)])
    assert rc == 1
    assert "nope.jpg: no such file" in capsys.readouterr().err
    assert (tmp_path / "a_labels.png").is_file()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["detect"],
        ["detect", "a.jpg", "--device", "tpu"],
        ["detect", "a.jpg", "--max-side", "3"],
        ["detect", "a.jpg", "--max-side", "big"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2


def test_bad_model_exits_2(tmp_path, capsys):
    _photo(tmp_path / "a.png")
    assert main(["detect", str(tmp_path / "a.png"), "--model", str(tmp_path / "none.pt")]) == 2
    assert "none.pt does not exist" in capsys.readouterr().err


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "examples" in capsys.readouterr().out
    assert main(["detect", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--recursive" in text and "examples" in text and "S_labels.png" in text


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "blurstudio", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and __version__ in done.stdout
