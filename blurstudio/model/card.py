"""The model card: `NAME.json` beside the weights `NAME.pt`, and where weights are found. No torch:
the GUI reads cards and lists the bundled models without loading the network.

A card is {"name", "architecture", "sha256", "working_max_side", "working_scales", "working_flip",
"training": {...}, "metrics": {...}, ...}; `ModelCard` holds the entries the program reads, checked
(a card out of its types or ranges is a WeightsError when read), and the whole card as written.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import WeightsError

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "resources" / "weights"
DEFAULT_MAX_SIDE = 640  # the detector's working resolution when the card does not say


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _entry(default: Any, check: Any, must: str) -> Any:
    """A card entry: its default when absent, and its check with what it must be (for the message)."""
    return field(default=default, metadata={"check": check, "must": must})


def _table() -> Any:
    """A card entry that is a table (a dict), empty when absent."""
    return field(default_factory=dict, metadata={"check": lambda v: isinstance(v, dict), "must": "a table"})


@dataclass(frozen=True)
class ModelCard:
    """The entries of a model card that the program reads, with their defaults; `entries` is the
    whole card as written (for display, and for the blur map's record). Entries may be absent,
    never null or of another type: `from_dict` raises ValueError naming the entry."""

    name: str = _entry("", lambda v: isinstance(v, str), "a string")
    sha256: str = _entry("", lambda v: isinstance(v, str) and len(v) == 64, "a 64-character hex string")
    working_max_side: int = _entry(DEFAULT_MAX_SIDE, lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 16,
                                   "a whole number of pixels, at least 16")
    working_scales: tuple[float, ...] = _entry(
        (1.0,), lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_number(x) and 0 < x <= 1 for x in v),
        "a list of factors in (0, 1]")
    working_flip: bool = _entry(False, lambda v: isinstance(v, bool), "true or false")
    training: dict = _table()
    metrics: dict = _table()
    entries: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in fields(self):  # an absent entry has its default, which needs no check ("" for no sha256)
            value = getattr(self, f.name)
            if "check" in f.metadata and value != f.default and not f.metadata["check"](value):
                raise ValueError(f"'{f.name}' must be {f.metadata['must']}, got {json.dumps(getattr(self, f.name))[:40]}")
        object.__setattr__(self, "working_scales", tuple(float(x) for x in self.working_scales))

    @classmethod
    def from_dict(cls, card: dict) -> ModelCard:
        """The card of a parsed NAME.json (its other entries are kept in `entries` only)."""
        known = {f.name for f in fields(cls)} - {"entries"}
        return cls(**{k: v for k, v in card.items() if k in known}, entries=dict(card))


def bundled_models() -> list[str]:
    """Names of the weights shipped in resources/weights (those with both .pt and .json)."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt") if p.with_suffix(".json").is_file())


def is_weights_file(name_or_path: str | os.PathLike) -> bool:
    """A path to a weights file (it has a folder or the .pt suffix), not a bundled model's name."""
    s = str(name_or_path)
    return "/" in s or "\\" in s or os.sep in s or s.endswith(".pt")


def weights_path(name_or_path: str | os.PathLike) -> Path:
    """A bundled model name ('compact') or a path to a .pt file -> the .pt path (which may not exist)."""
    return Path(name_or_path) if is_weights_file(name_or_path) else WEIGHTS_DIR / f"{name_or_path}.pt"


def resolve_weights(name_or_path: str | os.PathLike) -> Path:
    """As weights_path, but a bundled name that is not installed is a WeightsError."""
    path = weights_path(name_or_path)
    if not is_weights_file(name_or_path) and not path.is_file():
        have = ", ".join(bundled_models()) or "none"
        raise WeightsError(f"No bundled model named {str(name_or_path)!r} (bundled: {have}); pass a path to a .pt file instead.")
    return path


def read_card(weights_path: Path) -> dict:
    """The model card beside a weights file, as written; checked to be a ModelCard."""
    card_path = Path(weights_path).with_suffix(".json")
    if not card_path.is_file():
        raise WeightsError(f"Model card {card_path} is missing; every weights file needs its NAME.json beside it.")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as e:
        raise WeightsError(f"Model card {card_path} is not valid JSON ({e}).") from None
    if not isinstance(card, dict) or "architecture" not in card:
        raise WeightsError(f"Model card {card_path} has no 'architecture' entry.")
    try:
        ModelCard.from_dict(card)
    except ValueError as e:
        raise WeightsError(f"Model card {card_path}: {e}; re-export the weights with trainer.export.") from None
    return card
