"""Saving the edited photo without Qt: JPEG / PNG / 16-bit TIFF, EXIF and ICC kept, orientation 1."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from blurstudio.errors import ImageError
from blurstudio.images import read_image
from blurstudio.photo_export import EXIF_IFD, ORIENTATION, PhotoMetadata, read_metadata, save_photo

MAKE, DATE_ORIGINAL, EXPOSURE = 271, 0x9003, 0x829A


def camera_jpeg(path, h=40, w=60, orientation=6):
    """A JPEG as a camera writes it: EXIF (make, date, exposure, a rotation) and an sRGB profile."""
    exif = Image.Exif()
    exif[MAKE] = "Canon"
    exif[ORIENTATION] = orientation
    exif.get_ifd(EXIF_IFD)[DATE_ORIGINAL] = "2024:05:06 07:08:09"
    exif.get_ifd(EXIF_IFD)[EXPOSURE] = 1 / 250
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pixels = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), icc_profile=icc, quality=95)
    return path, icc


def test_metadata_of_a_camera_jpeg_is_read_with_the_orientation_reset(tmp_path):
    path, icc = camera_jpeg(tmp_path / "cam.jpg")
    meta = read_metadata(path)
    assert meta.icc == icc
    exif = Image.Exif()
    exif.load(meta.exif)
    assert exif[MAKE] == "Canon" and exif[ORIENTATION] == 1
    assert exif.get_ifd(EXIF_IFD)[DATE_ORIGINAL] == "2024:05:06 07:08:09"


def test_no_metadata_raw_files_and_tiff_structure_tags(tmp_path):
    plain = tmp_path / "plain.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(plain)
    assert read_metadata(plain) == PhotoMetadata()
    (tmp_path / "x.nef").write_bytes(b"not read")
    assert read_metadata(tmp_path / "x.nef") == PhotoMetadata()
    tiff = tmp_path / "in.tif"
    tifffile.imwrite(tiff, np.zeros((8, 8, 3), np.uint8), photometric="rgb", extratags=[(271, "s", 0, "Nikon", True)])
    exif = Image.Exif()
    exif.load(read_metadata(tiff).exif)
    assert exif[MAKE] == "Nikon" and 273 not in exif and 256 not in exif  # strip offsets, width: the old file's


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_round_trip_keeps_size_bit_depth_exif_and_profile(tmp_path, suffix):
    source, icc = camera_jpeg(tmp_path / "cam.jpg")
    photo = read_image(source)  # upright: 60 x 40 turned to 40 x 60
    assert photo.shape == (60, 40, 3)
    edited = 255 - photo
    out = save_photo(tmp_path / f"out{suffix}", edited, quality=92, metadata=read_metadata(source))
    with Image.open(out) as im:
        exif = im.getexif()
        assert im.size == (40, 60) and im.info.get("icc_profile") == icc
        assert exif[MAKE] == "Canon" and exif.get(ORIENTATION, 1) == 1  # stored upright: never turned again
        assert exif.get_ifd(EXIF_IFD)[DATE_ORIGINAL] == "2024:05:06 07:08:09"
        assert float(exif.get_ifd(EXIF_IFD)[EXPOSURE]) == pytest.approx(1 / 250)
    if suffix == ".tif":
        pixels = tifffile.imread(out)
        assert pixels.dtype == np.uint16 and np.array_equal(pixels, edited.astype(np.uint16) * 257)
    elif suffix == ".png":
        assert np.array_equal(read_image(out), edited)
    else:
        assert np.abs(read_image(out).astype(int) - edited).mean() < 6


def test_quality_formats_and_the_protected_original(tmp_path):
    photo = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    low = save_photo(tmp_path / "low.jpg", photo, quality=20)
    high = save_photo(tmp_path / "high.jpeg", photo, quality=98)
    assert low.stat().st_size < high.stat().st_size
    with pytest.raises(ImageError, match="save the photo as"):
        save_photo(tmp_path / "x.gif", photo)
    with pytest.raises(ImageError, match="quality"):
        save_photo(tmp_path / "x.jpg", photo, quality=0)
    original = tmp_path / "original.png"
    original.write_bytes(b"original")
    with pytest.raises(ImageError, match="refusing"):
        save_photo(original, photo, protect=[original])
    assert original.read_bytes() == b"original"
