"""Raw files through their embedded preview: a tiny DNG written here (tifffile), read by rawpy."""

import json

import numpy as np
import pytest

from blurstudio import raw
from blurstudio.cli import main
from blurstudio.errors import ImageError
from blurstudio.images import image_size, is_image_path, read_image

tifffile = pytest.importorskip("tifffile", reason="tifffile writes the test DNG (pip install tifffile)")
pytest.importorskip("rawpy", reason="reading raw files needs rawpy (pip install 'blurstudio[raw]')")


def make_dng(path, preview: np.ndarray | None, orientation: int = 1) -> None:
    """A minimal DNG: IFD0 the 8-bit RGB preview (NewSubfileType 1), a SubIFD the Bayer data;
    without `preview`, IFD0 is the raw data itself and there is no preview."""
    h, w = (preview.shape[:2] if preview is not None else (32, 48))
    cfa = np.random.default_rng(0).integers(0, 4000, (h * 2, w * 2)).astype(np.uint16)
    dng = [(50706, "B", 4, (1, 4, 0, 0), True), (50708, "s", 0, "Blur Studio Test", True), (274, "H", 1, orientation, True)]
    cfa_tags = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True), (50717, "I", 1, 4095, True)]
    with tifffile.TiffWriter(path) as tif:
        if preview is None:
            tif.write(cfa, photometric=32803, subfiletype=0, extratags=dng + cfa_tags, metadata=None)
            return
        tif.write(preview, photometric="rgb", subfiletype=1, subifds=1, extratags=dng, metadata=None)
        tif.write(cfa, photometric=32803, subfiletype=0, extratags=cfa_tags, metadata=None)


def preview_image() -> np.ndarray:
    img = np.zeros((60, 80, 3), np.uint8)
    img[:, :40] = 255  # left half white
    img[:, :, 2] = np.arange(80, dtype=np.uint8)[None, :] * 3
    return img


def test_raw_suffixes_are_photos():
    for name in ("a.CR2", "a.cr3", "a.NEF", "a.arw", "a.RAF", "a.orf", "a.rw2", "a.dng"):
        assert is_image_path(name) and raw.is_raw_path(name)


def test_preview_read_upright(tmp_path):
    make_dng(tmp_path / "a.dng", preview_image())
    assert np.array_equal(read_image(tmp_path / "a.dng"), preview_image())
    assert image_size(tmp_path / "a.dng") == (80, 60)
    make_dng(tmp_path / "r.dng", preview_image(), orientation=6)  # camera held upright: 90 degrees clockwise
    img = read_image(tmp_path / "r.dng")
    assert img.shape == (80, 60, 3) and image_size(tmp_path / "r.dng") == (60, 80)
    assert np.array_equal(img, np.rot90(preview_image(), -1))


def test_no_preview_is_a_clear_error(tmp_path):
    make_dng(tmp_path / "bare.dng", None)
    with pytest.raises(ImageError, match="no embedded preview"):
        read_image(tmp_path / "bare.dng")


def test_corrupt_raw_is_a_clear_error(tmp_path):
    (tmp_path / "x.nef").write_bytes(b"II*\x00" + b"\x00" * 100)
    with pytest.raises(ImageError, match="x.nef"):
        read_image(tmp_path / "x.nef")


def test_without_rawpy_a_clear_error(tmp_path, monkeypatch):
    make_dng(tmp_path / "a.dng", preview_image())
    monkeypatch.setattr(raw, "_rawpy", lambda: None)
    with pytest.raises(ImageError, match=r"needs rawpy .*blurstudio\[raw\]"):
        read_image(tmp_path / "a.dng")


def test_cull_reads_raw_and_reports_bare_ones(tmp_path, tiny_model_path, capsys):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    make_dng(shoot / "a.dng", preview_image(), orientation=6)
    make_dng(shoot / "bare.dng", None)
    out = tmp_path / "r"
    code = main(["cull", str(shoot), "-o", str(out), "--model", str(tiny_model_path), "--device", "cpu",
                 "--workers", "0", "--xmp"])
    assert code == 1 and "bare.dng" in capsys.readouterr().err
    doc = json.loads((out / "cull.json").read_text())
    assert [(p["width"], p["height"]) for p in doc["photos"]] == [(60, 80)]
    assert (shoot / "a.xmp").is_file()  # Lightroom's name for a raw file's sidecar
