"""A training run's settings as data: the TOML tables [model], [data], [train], [export] and
[synth], each checked when read, with every default defined once here.

An unknown key is refused with the known ones listed (a typo must not silently train with a
default), as trainer.synth.SynthConfig does for [synth]. `RunConfig.table` keeps the TOML as read:
checkpoints and model cards record it, and `RunConfig.from_table` reads it back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from blurstudio.model import PRESETS, BlurNetConfig

from .data import LAYOUTS
from .synth import SOURCE_KEYS, SynthConfig, synth_config

# [model] keys besides the BlurNetConfig fields (which change the preset's).
MODEL_KEYS = ("preset", "config", "init", "hed", "vgg19")


def _number(value: object, name: str, low: float | None = None, high: float | None = None, integer: bool = False):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ValueError(f"{name} must be a {'whole ' if integer else ''}number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be from {low} to {high}, got {value!r}")
    return value


def _from_table(cls, table: dict, section: str):
    """An instance of the dataclass `cls` from a TOML table; lists become tuples."""
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ValueError(f"unknown [{section}] setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [k for k in required if k not in table]
    if missing:
        raise ValueError(f"[{section}] needs {', '.join(missing)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})


@dataclass(frozen=True)
class DataConfig:
    photos: tuple[str, ...] = ()  # sharp photos (backgrounds)
    objects: tuple[str, ...] = ()  # DIR/images + DIR/masks: salient objects (also backgrounds)
    layouts: tuple[str, ...] = ()  # binary masks of real blurred regions
    exclude: tuple[str, ...] = ()  # lists of photo names to leave out
    real: tuple[str, ...] = ()  # labelled real photos mixed into every batch (trainer/real.py)
    real_layout: str = "cuhk"
    real_per_batch: int = 0
    crop: int = 224
    val_size: int = 224
    val_count: int = 128

    def __post_init__(self) -> None:
        if self.real_layout not in LAYOUTS:
            raise ValueError(f"[data] real_layout must be one of {LAYOUTS}, got {self.real_layout!r}")
        _number(self.real_per_batch, "[data] real_per_batch", 0, integer=True)
        for name in ("crop", "val_size"):
            if _number(getattr(self, name), f"[data] {name}", 16, integer=True) % 16:
                raise ValueError(f"[data] {name} must be a multiple of 16 (the network's stride)")
        _number(self.val_count, "[data] val_count", 1, integer=True)

    def sources(self) -> dict[str, list[str]]:
        """The synthetic generator's source folders and exclusion lists (trainer.synth.SOURCE_KEYS)."""
        return {k: list(getattr(self, k)) for k in SOURCE_KEYS}


@dataclass(frozen=True)
class TrainConfig:
    out: str
    seed: int
    steps: int
    batch: int
    lr: float
    encoder_lr_mult: float = 1.0  # the encoder's rate relative to lr (0 freezes it)
    weight_decay: float = 0.0
    warmup: int = 200
    restarts: tuple[int, ...] = ()  # steps where a new cosine cycle starts (see lr_factor)
    restart_lr: float = 1.0
    clip: float = 1.0
    class_weights: tuple[float, ...] = ()  # () = equal
    scale_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    workers: int = 1
    log_every: int = 50
    val_every: int = 500
    ckpt_every: int = 250
    teacher: str | None = None  # exported weights whose probabilities the model also learns
    distill: float = 0.0  # the teacher's weight against the labels' 1 - distill
    teacher_flip: bool = False  # the teacher averaged with its mirror image
    ema: float = 0.0  # decay of the weights' moving average (0: none)
    amp: bool = True  # mixed precision on CUDA

    def __post_init__(self) -> None:
        for name in ("seed", "steps", "batch", "warmup", "workers", "log_every", "val_every", "ckpt_every"):
            _number(getattr(self, name), f"[train] {name}", 0 if name in ("seed", "warmup", "workers") else 1, integer=True)
        _number(self.lr, "[train] lr", 0)
        _number(self.distill, "[train] distill", 0, 1)
        if self.distill > 0 and not self.teacher:
            raise ValueError("[train] distill needs a teacher (exported weights)")
        if self.teacher and self.distill == 0:
            raise ValueError("[train] teacher is set but distill is 0: give distill a weight, or drop teacher")
        if self.teacher_flip and not self.teacher:
            raise ValueError("[train] teacher_flip needs a teacher")
        if isinstance(self.ema, bool) or not isinstance(self.ema, (int, float)) or not 0 <= self.ema < 1:
            raise ValueError(f"[train] ema is a decay from 0 (off) to below 1, such as 0.998; got {self.ema!r}")
        if len(self.scale_weights) != 4 or (self.class_weights and len(self.class_weights) != 3):
            raise ValueError("[train] scale_weights needs 4 numbers (one per decoder scale), class_weights 3")


@dataclass(frozen=True)
class ExportConfig:
    path: str | None = None  # where the run's weights are exported at its end
    working_max_side: int = 640  # the detector settings written into the card
    working_scales: tuple[float, ...] = (1.0,)
    working_flip: bool = False

    def __post_init__(self) -> None:
        _number(self.working_max_side, "[export] working_max_side", 16, integer=True)
        if not self.working_scales or not all(0 < _number(s, "[export] working_scales", 0, 1) for s in self.working_scales):
            raise ValueError(f"[export] working_scales must be factors in (0, 1], got {self.working_scales!r}")

    def card(self) -> dict:
        return {"working_max_side": self.working_max_side, "working_scales": list(self.working_scales),
                "working_flip": bool(self.working_flip)}


@dataclass(frozen=True)
class RunConfig:
    model: dict  # preset / config / init / hed / vgg19, and BlurNetConfig fields that change the preset
    data: DataConfig
    train: TrainConfig
    export: ExportConfig
    synth: SynthConfig  # at the training crop size
    val_synth: SynthConfig  # at the validation size
    table: dict = field(repr=False)  # the TOML as read, for checkpoints and cards

    @classmethod
    def from_table(cls, table: dict) -> "RunConfig":
        """Check every table; raises ValueError naming the table and setting."""
        for name in ("model", "data", "train"):
            if not isinstance(table.get(name), dict):
                raise ValueError(f"needs a [{name}] table")
        unknown = sorted(set(table) - {"model", "data", "train", "export", "synth"})
        if unknown:
            raise ValueError(f"unknown table(s) {', '.join(unknown)}; known: model, data, train, export, synth")
        model = dict(table["model"])
        fields = {f.name for f in dataclasses.fields(BlurNetConfig)} - {"num_classes"}
        if unknown := sorted(set(model) - fields - set(MODEL_KEYS)):
            raise ValueError(f"unknown [model] setting(s) {', '.join(unknown)}; known: {', '.join(MODEL_KEYS)} "
                             f"and the BlurNetConfig fields {', '.join(sorted(fields))}")
        if not model.get("config") and model.get("preset") not in PRESETS:
            raise ValueError(f"[model] preset must be one of {sorted(PRESETS)}, got {model.get('preset')!r}")
        data = _from_table(DataConfig, table["data"], "data")
        synth = table.get("synth", {})
        return cls(model=model, data=data, train=_from_table(TrainConfig, table["train"], "train"),
                   export=_from_table(ExportConfig, table.get("export", {}), "export"),
                   synth=synth_config(synth, data.crop), val_synth=synth_config(synth, data.val_size), table=table)


def load_config(path: str | Path, overrides: dict | None = None) -> RunConfig:
    """A training config (TOML), with `overrides` ({"section.key": value}) applied. Raises ValueError
    naming what is wrong when it cannot be read or a table or setting is missing, unknown or invalid."""
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"cannot read config: {e}") from e
    for k, v in (overrides or {}).items():
        section, key = k.split(".", 1)
        table.setdefault(section, {})[key] = v
    try:
        return RunConfig.from_table(table)
    except TypeError as e:  # a value of the wrong kind deep in a dataclass
        raise ValueError(str(e)) from None
