"""blurstudio.display: BGRA conversion and pyramids for the GUI's canvas."""

import numpy as np
import pytest

from blurstudio.display import pyramid, to_bgra


def test_to_bgra_orders_bytes_and_sets_alpha():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 20, 30
    out = to_bgra(rgb)
    assert out.shape == (2, 3, 4) and tuple(out[0, 0]) == (30, 20, 10, 255)
    rgba = np.dstack([rgb, np.full((2, 3), 7, np.uint8)])
    assert tuple(to_bgra(rgba)[1, 2]) == (30, 20, 10, 7)
    assert tuple(to_bgra(np.full((2, 2), 9, np.uint8))[0, 0]) == (9, 9, 9, 255)
    with pytest.raises(ValueError):
        to_bgra(np.zeros((2, 2, 2), np.uint8))


def test_pyramid_halves_down_to_the_smallest_level():
    levels = pyramid(np.full((1000, 2100, 4), 128, np.uint8), smallest=512)
    assert [lv.shape[:2] for lv in levels] == [(1000, 2100), (500, 1050), (250, 525), (125, 262)]
    assert all(lv.dtype == np.uint8 and (lv == 128).all() for lv in levels)
    assert len(pyramid(np.zeros((10, 10, 4), np.uint8))) == 1


def test_qt_pyramid_picks_the_smallest_sufficient_level(qtbot):
    from PySide6.QtCore import QSize

    from blurstudio.gui.imaging import pyramid_from_array

    p = pyramid_from_array(np.zeros((1000, 2000, 3), np.uint8))
    assert [lv.width() for lv in p.levels] == [2000, 1000, 500]
    assert p.level_for(1.0)[0].width() == 2000 and p.level_for(0.3) == (p.levels[1], 0.5)
    assert p.level_for(0.01)[0].width() == 500
    quick = pyramid_from_array(np.zeros((100, 200, 4), np.uint8), premultiplied=True, full_size=QSize(2000, 1000))
    assert quick.level_for(1.0) == (quick.levels[0], 0.1)  # a subsampled overlay stretches over the photo
    assert p.levels[0].pixelColor(0, 0).alpha() == 255
