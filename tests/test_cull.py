"""The cull's verdict rules on synthetic blur maps: each verdict, its borders, scores and config checks."""

import numpy as np
import pytest

from blurstudio.blurmap import BlurMap
from blurstudio.cull import (
    VERDICTS,
    CullConfig,
    Measures,
    decide,
    judge,
    measure,
    sharp_outline,
)

S, M, D = 0, 1, 2
CFG = CullConfig(sharp_min=0.7, missed_sharp_max=0.06, motion_region_min=0.04, shake_share_min=0.5,
                 edge_share_max=0.8)


def probs_of(labels: np.ndarray) -> np.ndarray:
    return BlurMap.from_labels(labels).probs


def frame(fill: int, size=(100, 100)) -> np.ndarray:
    return np.full(size, fill, np.uint8)


def verdict(labels: np.ndarray, config: CullConfig = CFG) -> str:
    return judge(probs_of(labels), config=config).verdict


def test_all_sharp_is_sharp_with_top_score():
    v = judge(probs_of(frame(S)), config=CFG)
    assert v.verdict == "sharp" and v.score == 100 and v.rating == 5
    assert v.measures.sharp == 1.0 and v.measures.subject == 1.0


def test_all_motion_is_camera_shake_and_all_defocus_is_missed_focus():
    shake, missed = judge(probs_of(frame(M)), config=CFG), judge(probs_of(frame(D)), config=CFG)
    assert shake.verdict == "camera shake" and missed.verdict == "missed focus"
    assert shake.score <= 30 and missed.score <= 30 and shake.rating <= 2


def test_central_sharp_subject_over_defocus_is_shallow_focus():
    labels = frame(D)
    labels[30:70, 35:65] = S  # 12 % of the frame, in the middle
    v = judge(probs_of(labels), config=CFG)
    assert v.verdict == "shallow focus" and v.score >= 60
    assert v.measures.subject == pytest.approx(0.12)
    assert v.measures.subject_centre == pytest.approx((0.5, 0.5))
    assert v.measures.subject_box == pytest.approx((0.35, 0.3, 0.65, 0.7))


def test_sharp_fraction_border():
    labels = frame(D)
    labels[:70] = S  # exactly sharp_min
    assert verdict(labels) == "sharp"
    labels[69] = D  # just below: the rest is defocus, the sharp part is a subject-sized region
    assert verdict(labels) == "shallow focus"


def test_missed_focus_border_on_the_largest_sharp_region():
    labels = frame(D)
    labels[35:55, 35:65] = S  # 6 %: at missed_sharp_max, nothing counts as in focus
    assert verdict(labels) == "missed focus"
    labels[35:55, 35:70] = S  # 7 %
    assert verdict(labels) == "shallow focus"


def test_only_the_frame_edge_sharp_is_missed_focus():
    labels = frame(D)
    labels[92:] = S  # the ground at the bottom in focus, the subject not: 8 % of the frame, all in the edge band
    v = judge(probs_of(labels), config=CFG)
    assert v.verdict == "missed focus" and "edge" in v.reason
    assert v.measures.subject_edge_share == 1.0
    loose = CullConfig(**{**CFG.to_dict(), "edge_share_max": 1.0})
    assert verdict(labels, loose) == "shallow focus"


def test_subject_motion_border_on_the_motion_region():
    labels = frame(S)
    labels[40:60, 40:60] = M  # 4 %: at motion_region_min
    v = judge(probs_of(labels), config=CFG)
    assert v.verdict == "subject motion" and 35 <= v.score <= 65
    labels[40:60, 40:60] = S
    labels[40:59, 40:60] = M  # 3.8 %: below
    assert verdict(labels) == "sharp"


def test_motion_over_most_of_the_frame_with_a_small_sharp_region_is_camera_shake():
    labels = frame(M)
    labels[40:60, 40:60] = S  # 4 % sharp, the rest motion
    assert verdict(labels) == "camera shake"


def test_blur_type_share_border_decides_shake_or_focus():
    labels = frame(S)
    labels[:, :30] = M
    labels[:, 30:60] = D  # motion share of the blurred pixels: 50 %, not above shake_share_min
    assert verdict(labels) == "shallow focus"
    labels[:, 30] = M  # 31 motion columns of 60: above
    assert verdict(labels) == "subject motion"  # a sharp 40 % region remains: a moving subject
    labels[:, 60:] = M
    assert verdict(labels) == "camera shake"


def test_scores_order_keepers_above_rejects():
    keep = [judge(probs_of(frame(S)), config=CFG)]
    lab = frame(D)
    lab[20:80, 30:70] = S
    keep.append(judge(probs_of(lab), config=CFG))
    reject = [judge(probs_of(frame(M)), config=CFG), judge(probs_of(frame(D)), config=CFG)]
    assert min(v.score for v in keep) > max(v.score for v in reject)
    for v in keep + reject:
        assert 0 <= v.score <= 100 and 1 <= v.rating <= 5 and v.verdict in VERDICTS


def test_more_blur_scores_lower():
    m = measure(probs_of(frame(D)))
    soft = decide(Measures(**{**m.__dict__, "blur_radius": 0.5}), CFG)
    heavy = decide(Measures(**{**m.__dict__, "blur_radius": 6.0}), CFG)
    assert soft.score > heavy.score


def test_blur_amount_from_a_photo_and_in_full_size_pixels():
    rng = np.random.default_rng(0)
    import cv2

    photo = cv2.GaussianBlur(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8), (0, 0), 2.0)
    m = measure(probs_of(frame(D, (96, 128))), photo, full_long_side=1280)
    assert m.blur_radius > 0 and m.blur_px == pytest.approx(m.blur_radius * 10)


def test_measures_round_trip_and_to_dict():
    lab = frame(D)
    lab[30:70, 30:70] = S
    m = measure(probs_of(lab))
    assert Measures.from_dict(m.to_dict()) == Measures.from_dict(m.to_dict())
    d = judge(probs_of(lab), config=CFG).to_dict()
    assert {"verdict", "score", "rating", "reason", "sharp", "subject_centre", "blur_px"} <= d.keys()


@pytest.mark.parametrize("bad", [{"sharp_min": 1.5}, {"missed_sharp_max": -0.1}, {"blur_full_scale": 0},
                                 {"sharp_min": 0.05, "missed_sharp_max": 0.1}, {"edge_share_max": "high"},
                                 {"motion_region_min": float("nan")}])
def test_config_is_validated(bad):
    with pytest.raises(ValueError):
        CullConfig(**bad)


def test_measure_rejects_bad_shapes():
    with pytest.raises(ValueError):
        measure(np.zeros((2, 10, 10), np.float32))
    with pytest.raises(ValueError):
        measure(probs_of(frame(S)), np.zeros((5, 5, 3), np.uint8))


def test_large_maps_are_measured_small_and_outline_found():
    lab = frame(D, (1200, 1600))
    lab[300:900, 400:1200] = S
    v = judge(probs_of(lab), config=CFG)
    assert v.verdict == "shallow focus" and v.measures.subject == pytest.approx(0.25, abs=0.01)
    contours = sharp_outline(probs_of(lab), (120, 160))
    assert len(contours) == 1
