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
