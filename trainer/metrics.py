"""Segmentation metrics for blur maps, accumulated over a data set.

3-class (sharp / motion / defocus): pixel accuracy, per-class IoU, mIoU (from one confusion matrix).
Binary (blurred vs sharp, score = 1 - p(sharp)): F-measure with beta^2 = 0.3 at the best threshold,
MAE, and binary mIoU at threshold 0.5. Pixels labelled UNKNOWN_BLUR (255: blurred, type not given)
count only in the binary metrics.
The literature's protocol for defocus detection (BTBNet, CENet, DD): the in-focus region is the
positive class, predicted where p(sharp) >= 0.5; IoU and F-beta (beta^2 = 0.3) per image, averaged
over images (`in_focus_iou`, `in_focus_f`), and the per-image MAE of the soft map, averaged.
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ("sharp", "motion", "defocus")
UNKNOWN_BLUR = 255
BINS = 256


class BlurMetrics:
    def __init__(self) -> None:
        self.confusion = np.zeros((3, 3), np.int64)  # [true, predicted]
        self.pos_hist = np.zeros(BINS, np.int64)  # blur scores of truly blurred pixels
        self.neg_hist = np.zeros(BINS, np.int64)
        self.abs_err = 0.0
        self.count = 0
        self.per_image: list[tuple[float, float, float]] = []  # in-focus IoU, F-beta, MAE


    def update(self, probs: np.ndarray, labels: np.ndarray) -> None:
        """probs: (3, H, W) probabilities; labels: (H, W) uint8 in {0, 1, 2, 255}."""
        probs = np.asarray(probs, np.float32)
        labels = np.asarray(labels)
        if probs.shape[1:] != labels.shape:
            raise ValueError(f"prediction {probs.shape[1:]} and labels {labels.shape} differ in size")
        pred = probs.argmax(axis=0)
        known = labels != UNKNOWN_BLUR
        self.confusion += np.bincount(
            labels[known].astype(np.int64) * 3 + pred[known], minlength=9
        ).reshape(3, 3)
        score = np.clip(1.0 - probs[0], 0.0, 1.0).ravel()
        blurred = (labels != 0).ravel()
        idx = np.minimum((score * BINS).astype(np.int64), BINS - 1)
        self.pos_hist += np.bincount(idx[blurred], minlength=BINS)
        self.neg_hist += np.bincount(idx[~blurred], minlength=BINS)
        self.abs_err += float(np.abs(score - blurred).sum())
        self.count += score.size
        self.per_image.append(in_focus_scores(probs[0], labels == 0))

    def compute(self) -> dict:
        c = self.confusion.astype(np.float64)
        tp = np.diag(c)
        union = c.sum(0) + c.sum(1) - tp
        iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
        out = {
            "pixel_accuracy": float(tp.sum() / max(c.sum(), 1)),
            "iou": {n: (None if np.isnan(v) else float(v)) for n, v in zip(CLASS_NAMES, iou)},
            "miou": float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else 0.0,
        }
        # Binary: predicted blurred at threshold t when score >= t; cumulative counts from the top bin.
        tp_t = np.cumsum(self.pos_hist[::-1])[::-1].astype(np.float64)
        fp_t = np.cumsum(self.neg_hist[::-1])[::-1].astype(np.float64)
        pos = float(self.pos_hist.sum())
        precision = np.where(tp_t + fp_t > 0, tp_t / np.maximum(tp_t + fp_t, 1), 0.0)
        recall = tp_t / max(pos, 1.0)
        b2 = 0.3
        f = np.where(precision + recall > 0, (1 + b2) * precision * recall / np.maximum(b2 * precision + recall, 1e-12), 0.0)
        best = int(np.argmax(f))
        half = BINS // 2
        neg = float(self.neg_hist.sum())
        tp5, fp5 = tp_t[half], fp_t[half]
        fn5, tn5 = pos - tp5, neg - fp5
        ious = [tp5 / max(tp5 + fp5 + fn5, 1), tn5 / max(tn5 + fn5 + fp5, 1)]
        present = [pos > 0 or tp5 + fp5 > 0, neg > 0 or tn5 + fn5 > 0]
        out.update(
            {
                "f_measure": float(f[best]),
                "f_threshold": best / BINS,
                "mae": self.abs_err / max(self.count, 1),
                "binary_miou": float(np.mean([v for v, p in zip(ious, present) if p])) if any(present) else 0.0,
            }
        )
        per = np.array(self.per_image, np.float64).reshape(-1, 3)
        out.update({k: float(v) if len(per) else 0.0 for k, v in zip(("in_focus_iou", "in_focus_f", "in_focus_mae"), per.mean(0))})
        return out


def in_focus_scores(p_sharp: np.ndarray, sharp: np.ndarray) -> tuple[float, float, float]:
    """One image's in-focus IoU and F-beta (beta^2 = 0.3) at p(sharp) >= 0.5, and the MAE of the
    soft map against the in-focus mask. An image with no in-focus pixel that predicts none scores 1."""
    pred = p_sharp >= 0.5
    tp = float(np.count_nonzero(pred & sharp))
    fp, fn = float(np.count_nonzero(pred & ~sharp)), float(np.count_nonzero(~pred & sharp))
    if tp + fp + fn == 0:
        return 1.0, 1.0, float(np.abs(p_sharp - sharp).mean())
    precision, recall = tp / max(tp + fp, 1.0), tp / max(tp + fn, 1.0)
    b2 = 0.3
    f = (1 + b2) * precision * recall / (b2 * precision + recall) if precision + recall > 0 else 0.0
    return tp / (tp + fp + fn), f, float(np.abs(p_sharp - sharp).mean())
