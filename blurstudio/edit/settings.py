"""The settings of the three edits as data, like `BlurNetConfig`: each a frozen dataclass whose fields
carry their default, range (or choices) and help text, checked when it is made.

The command line's options (`commands.common.add_settings`) and the GUI's sliders and lists
(`gui.panels.controls`) are both built from these fields, so the two accept the same values.
Importing this module is cheap (no NumPy, no OpenCV): the commands read it before `--help`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import Field, dataclass, field, fields
from typing import Any

from ..errors import InputError

# Selection
TARGETS = ("sharp", "motion", "defocus", "blurred")  # "blurred" = motion or defocus = 1 - p(sharp)
# pymatting's alpha solvers: name -> description. The function is pymatting.estimate_alpha_<name>.
SOLVERS = {
    "cf": "closed-form matting (Levin et al. 2008)",
    "knn": "KNN matting (Chen et al. 2013)",
    "lkm": "large-kernel matting (He et al. 2010)",
    "lbdm": "learning-based matting (Zheng & Kambhamettu 2009)",
    "rw": "random-walk matting (Grady et al. 2005)",
    "sm": "shared matting (Gastal & Oliveira 2010)",
}
# Magnify
BOKEH_SHAPES = ("circle", "hexagon")
# Deblur
METHODS = ("wiener", "rl")
REGIONS = ("auto", "motion", "defocus")


def number(default: float | None, low: float, high: float, help: str, log: bool = False, auto: bool = False) -> Any:
    """A numeric setting in [low, high]; `log`: its useful values spread over orders of magnitude
    (a GUI slider then moves by ratios, not steps); `auto`: None is allowed too, and means the engine
    chooses (measures) the value, as the default."""
    return field(default=default, metadata={"range": (low, high), "log": log, "auto": auto, "help": help})


def choice(default: str, choices: tuple[str, ...], help: str) -> Any:
    """A setting that is one of `choices`."""
    return field(default=default, metadata={"choices": tuple(choices), "help": help})


def setting(cls: type, name: str) -> Field:
    """The field `name` of a settings class."""
    for f in fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


def check(settings: object) -> None:
    """Check every field of a settings object against its range or choices (numbers become floats).
    Raises InputError naming the setting."""
    for f in fields(settings):
        value, label = getattr(settings, f.name), f.name.replace("_", " ")
        if "choices" in f.metadata:
            if value not in f.metadata["choices"]:
                raise InputError(f"unknown {label} {value!r}; choose one of {', '.join(f.metadata['choices'])}")
            continue
        if value is None and f.metadata.get("auto"):
            continue
        low, high = f.metadata["range"]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= value <= high:
            raise InputError(f"{label} must be between {low:g} and {high:g}, got {value!r}")
        object.__setattr__(settings, f.name, float(value))


@dataclass(frozen=True)
class SelectSettings:
    """How `Selector` selects (the strokes are data, given with each call)."""

    target: str = choice("sharp", TARGETS, "what to select: the sharp subject, a blur class, or any blur (blurred)")
    threshold: float = number(0.5, 0.0, 1.0, "minimum probability of the target for the confident selection "
                              "(lower selects more)")
    # The engine takes any width; beyond a fifth of the photo the band swallows the selection.
    edge_width: float = number(0.03, 0.0, 0.2, "half-width of the refined edge band as a fraction of the "
                               "photo size (0 = the blur map's hard edge)")
    solver: str = choice("cf", tuple(SOLVERS), "pymatting alpha solver: " + ", ".join(f"{k} = {v}" for k, v in SOLVERS.items()))

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class MagnifySettings:
    """How `Magnifier` renders (the subject and the motion choice are part of its preparation)."""

    amount: float = number(2.0, 1.0, 8.0, "blur multiplier (1 = unchanged)")
    bokeh: str = choice("circle", BOKEH_SHAPES, "aperture shape, the shape of out-of-focus highlights")
    highlight_boost: float = number(1.0, 0.0, 20.0, "how much bright points bloom (0 = none)")

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class DeblurSettings:
    """How `Deblurrer` deconvolves (the region choice is part of its preparation: the kernels)."""

    method: str = choice("wiener", METHODS, "wiener (fast) or rl (Richardson-Lucy, slower, less ringing on edges)")
    strength: float = number(1.0, 0.0, 2.0, "0 = unchanged, 1 = the full restoration, above = exaggerated")
    # A multiplier of the automatic, noise-dependent regularisation. Below 1/20 noise and ringing
    # swamp the detail on every photo tried; above 20 hardly anything is restored.
    smoothness: float = number(1.0, 0.05, 20.0, "more = less noise and ringing, less detail "
                               "(a multiplier of the automatic regularisation)", log=True)
    # Overrides of the estimated kernels (None: as estimated). The ranges are what deconvolution
    # can still use at full resolution: beyond them the FFT context (10 kernel half-sizes) grows
    # past a tile and the restored detail is lost in noise anyway.
    radius: float | None = number(None, 0.5, 40.0, "defocus disk radius in px, instead of the estimate",
                                  auto=True)
    length: float | None = number(None, 1.0, 100.0, "motion blur length in px, instead of the estimate", auto=True)
    angle: float | None = number(None, 0.0, 180.0, "motion blur angle in degrees counter-clockwise from "
                                 "the image's x axis, instead of the estimate", auto=True)

    def __post_init__(self) -> None:
        check(self)


def log_position(value: float, low: float, high: float) -> float:
    """Where `value` lies between low and high on a ratio scale, 0..1."""
    return math.log(value / low) / math.log(high / low)
