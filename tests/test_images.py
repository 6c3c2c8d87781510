"""Reading photos (orientation, colour modes, limits, bad files) and atomic, protected writing."""

import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from blurstudio.images import ImageError, image_size, read_image, write_image


def _exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def test_exif_orientation_6_is_applied(tmp_path):
    # Stored 40 wide x 20 high with a red block top-left; orientation 6 = display rotated 90 degrees clockwise.
    a = np.zeros((20, 40, 3), np.uint8)
    a[:8, :8] = (255, 0, 0)
    Image.fromarray(a).save(tmp_path / "o.jpg", exif=_exif_orientation(6), quality=98)
    img = read_image(tmp_path / "o.jpg")
    assert img.shape == (40, 20, 3)
    assert img[2, -3, 0] > 200 and img[2, -3, 1] < 60  # the block is now top-right
    assert img[-3, 2].max() < 60
    assert image_size(tmp_path / "o.jpg") == (20, 40)


def _png(tmp_path, im, name="x.png"):
    path = tmp_path / name
    im.save(path)
    return path


def test_greyscale_palette_bilevel(tmp_path):
    grey = Image.fromarray(np.full((4, 5), 77, np.uint8))
    assert (read_image(_png(tmp_path, grey)) == 77).all()
    pal = grey.convert("RGB").quantize(4)
    assert read_image(_png(tmp_path, pal, "p.png")).shape == (4, 5, 3)
    bw = Image.new("1", (5, 4), 1)
    assert (read_image(_png(tmp_path, bw, "b.png")) == 255).all()


def test_rgba_and_la_are_composited_on_white(tmp_path):
    a = np.zeros((2, 2, 4), np.uint8)
    a[0, 0] = (255, 0, 0, 255)  # opaque red
    a[0, 1] = (255, 0, 0, 0)  # transparent -> white
    a[1, 0] = (0, 0, 0, 128)  # half black -> mid grey
    img = read_image(_png(tmp_path, Image.fromarray(a)))
    assert tuple(img[0, 0]) == (255, 0, 0)
    assert tuple(img[0, 1]) == (255, 255, 255)
    assert abs(int(img[1, 0, 0]) - 127) <= 1
    la = Image.fromarray(np.array([[[0, 0], [0, 255]]], np.uint8), mode="LA")
    assert read_image(_png(tmp_path, la, "la.png"))[0].tolist() == [[255] * 3, [0] * 3]


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    im.putpixel((1, 0), 1)
    im.info["transparency"] = 0
    im.save(tmp_path / "t.png", transparency=0)
    assert read_image(tmp_path / "t.png")[0].tolist() == [[255, 255, 255], [10, 20, 30]]


def test_cmyk(tmp_path):
    im = Image.new("CMYK", (3, 2), (0, 255, 255, 0))  # pure red ink
    im.save(tmp_path / "c.jpg", quality=100)
    img = read_image(tmp_path / "c.jpg")
    assert img.shape == (2, 3, 3) and img[0, 0, 0] > 200 and img[0, 0, 1] < 60


def test_16_bit_greyscale_is_scaled(tmp_path):
    a = np.array([[0, 257 * 100, 65535]], np.uint16)
    write_image(tmp_path / "g16.png", a)
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")  # really 16-bit on disk
    assert read_image(tmp_path / "g16.png")[0, :, 0].tolist() == [0, 100, 255]
    Image.fromarray(a.astype(np.int32)).save(tmp_path / "i.tif")  # mode I
    assert read_image(tmp_path / "i.tif")[0, :, 0].tolist() == [0, 100, 255]


def test_float_images(tmp_path):
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32)).save(tmp_path / "f.tif")
    assert read_image(tmp_path / "f.tif")[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp", ".bmp"])
def test_write_read_round_trip(tmp_path, suffix):
    a = np.zeros((6, 8, 3), np.uint8)
    a[:, 4:] = (200, 100, 50)
    path = write_image(tmp_path / f"r{suffix}", a)
    back = read_image(path)
    assert back.shape == a.shape
    tol = 0 if suffix in (".png", ".tif", ".bmp") else 30
    assert np.abs(back.astype(int) - a).max() <= tol
    assert [p.name for p in tmp_path.iterdir()] == [f"r{suffix}"]  # no temporary file left


def test_write_rgba_and_bool(tmp_path):
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., 3] = 255
    write_image(tmp_path / "a.png", rgba)
    assert Image.open(tmp_path / "a.png").mode == "RGBA"
    write_image(tmp_path / "m.png", np.eye(3, dtype=bool))
    assert np.asarray(Image.open(tmp_path / "m.png")).tolist()[0] == [255, 0, 0]


def test_write_errors(tmp_path):
    with pytest.raises(ImageError, match=r"x\.gif.*unknown image format"):
        write_image(tmp_path / "x.gif", np.zeros((2, 2), np.uint8))
    with pytest.raises(ImageError, match="cannot store transparency"):
        write_image(tmp_path / "x.jpg", np.zeros((2, 2, 4), np.uint8))
    with pytest.raises(ImageError, match="16-bit"):
        write_image(tmp_path / "x.jpg", np.zeros((2, 2), np.uint16))
    with pytest.raises(ImageError, match="float"):
        write_image(tmp_path / "x.png", np.zeros((2, 2), np.float32))
    with pytest.raises(ImageError, match="does not exist"):
        write_image(tmp_path / "nofolder" / "x.png", np.zeros((2, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_protected_paths(tmp_path):
    photo = tmp_path / "photo.png"
    write_image(photo, np.full((2, 2), 9, np.uint8))
    before = photo.read_bytes()
    for target in (photo, tmp_path / "." / "photo.png"):
        with pytest.raises(ImageError, match="refusing to write over the input"):
            write_image(target, np.zeros((2, 2), np.uint8), protect=[photo])
    link = tmp_path / "link.png"
    os.symlink(photo, link)
    with pytest.raises(ImageError, match="refusing"):
        write_image(link, np.zeros((2, 2), np.uint8), protect=[photo])
    assert photo.read_bytes() == before
    write_image(tmp_path / "other.png", np.zeros((2, 2), np.uint8), protect=[photo])  # others are fine


def _png_header_only(path, width, height):
    """A PNG whose header claims a size; no pixel data (a reader must refuse before decoding)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_decompression_bomb_is_refused(tmp_path):
    bomb = _png_header_only(tmp_path / "bomb.png", 15000, 15000)  # 225 MP: caught by our check
    with pytest.raises(ImageError, match=r"bomb\.png.*225 megapixels.*limit of 200 megapixels.*bomb"):
        read_image(bomb)
    huge = _png_header_only(tmp_path / "huge.png", 30000, 30000)  # 900 MP: caught by Pillow's, same message
    with pytest.raises(ImageError, match=r"huge\.png.*limit of 200 megapixels.*bomb"):
        read_image(huge)
    small = write_image(tmp_path / "s.png", np.zeros((20, 20), np.uint8))
    with pytest.raises(ImageError, match="above the limit"):
        read_image(small, max_pixels=100)


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "text.jpg").write_text("hello, not a photo")
    (tmp_path / "empty.png").write_bytes(b"")
    a = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    png = write_image(tmp_path / "full.png", a).read_bytes()
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    cases = {
        "text.jpg": "not an image",
        "empty.png": "not an image",
        "cut.jpg": "truncated",
        "cut.png": "truncated",
        "missing.jpg": "no such file",
    }
    for name, reason in cases.items():
        with pytest.raises(ImageError) as info:
            read_image(tmp_path / name)
        assert name in str(info.value) and reason in str(info.value), str(info.value)
    with pytest.raises(ImageError, match="is a folder"):
        read_image(tmp_path)
