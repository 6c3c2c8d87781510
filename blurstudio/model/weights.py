"""Weight files: verified loading, export, and VGG-19 initialisation (where they are found and their
cards: card.py).

A weights file is `NAME.pt` (an fp16 state dict) with a model card `NAME.json` beside it:
{"name", "architecture": BlurNetConfig dict, "sha256", "training": {...}, "metrics": {...}, ...}.
An ensemble's card has "architecture": {"members": [BlurNetConfig dict, ...]} and its state dict
the members' entries under "members.0.", "members.1.", ...
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import torch

from ..errors import WeightsError
from ..images import atomic_write
from .card import read_card, resolve_weights
from .net import BlurNet, BlurNetEnsemble, build_model


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def architecture_of(model: BlurNet | BlurNetEnsemble) -> dict:
    """The card's "architecture" entry for a model."""
    if isinstance(model, BlurNetEnsemble):
        arch = {"members": [m.config.to_dict() for m in model.members]}
        return arch if model.combine == "mean" else {**arch, "combine": model.combine}
    return model.config.to_dict()


def model_from_architecture(arch: dict) -> BlurNet | BlurNetEnsemble:
    """An untrained model from a card's "architecture" entry (raises ValueError or TypeError)."""
    if not isinstance(arch, dict):
        raise TypeError(f"expected a table, got {type(arch).__name__}")
    if "members" in arch:
        if not set(arch) <= {"members", "combine"} or not isinstance(arch["members"], list):
            raise ValueError("an ensemble's architecture is {'members': [config, ...], 'combine': ...} and nothing else")
        if not all(isinstance(m, dict) for m in arch["members"]):
            raise TypeError("each ensemble member's architecture must be a table")
        return BlurNetEnsemble([build_model(m) for m in arch["members"]], arch.get("combine", "mean"))
    return build_model(arch)


def load_model(name_or_path: str | os.PathLike = "compact") -> tuple[BlurNet | BlurNetEnsemble, dict]:
    """Load a verified model: checks the file exists, its SHA-256 matches the card, and the
    state dict fits the card's architecture. Returns (model in eval mode, fp32, on CPU; card)."""
    path = resolve_weights(name_or_path)
    if not path.is_file():
        raise WeightsError(f"Weights file {path} does not exist.")
    card = read_card(path)
    expected = card.get("sha256")
    if not expected:
        raise WeightsError(f"Model card {path.with_suffix('.json')} has no 'sha256' entry.")
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsError(
            f"Weights file {path} is corrupt or was changed: its SHA-256 is {actual[:12]}..., the model card says {expected[:12]}...."
        )
    try:
        model = model_from_architecture(card["architecture"])
    except (TypeError, ValueError, AttributeError) as e:
        raise WeightsError(f"Model card {path.with_suffix('.json')} has an invalid architecture ({e}).") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for bad pickles/zips
        raise WeightsError(f"Weights file {path} could not be read as a PyTorch state dict ({e}).") from None
    _load_state(model, state, path)
    return model.float().eval(), card


def _load_state(model: BlurNet | BlurNetEnsemble, state: object, path: Path) -> None:
    if not isinstance(state, dict):
        raise WeightsError(f"Weights file {path} does not hold a state dict.")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise WeightsError(
            f"Weights file {path} does not match the architecture in its model card "
            f"({len(missing)} missing keys, e.g. {missing[:1]}; {len(extra)} unexpected, e.g. {extra[:1]})."
        )
    for k, v in own.items():
        if not isinstance(state[k], torch.Tensor):
            raise WeightsError(f"Weights file {path}: entry {k} is not a tensor.")
        if state[k].is_floating_point() and not torch.isfinite(state[k]).all():
            raise WeightsError(f"Weights file {path}: entry {k} holds NaN or infinite values (a diverged training run?).")
        if tuple(state[k].shape) != tuple(v.shape):
            raise WeightsError(
                f"Weights file {path} does not match the architecture in its model card "
                f"({k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)})."
            )
    model.load_state_dict({k: v.float() for k, v in state.items()})


def save_model(model: BlurNet | BlurNetEnsemble, path: str | os.PathLike, card: dict | None = None) -> dict:
    """Write `path` (.pt, fp16 state dict) and its model card atomically. Returns the card."""
    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"weights path must end in .pt, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    atomic_write(path, lambda f: f.write(data))
    card = dict(card or {})
    card.setdefault("name", path.stem)
    card["architecture"] = architecture_of(model)
    card["sha256"] = hashlib.sha256(data).hexdigest()
    card["format"] = "fp16 state dict, classes [sharp, motion, defocus], input RGB normalised with ImageNet mean/std"
    text = (json.dumps(card, indent=2) + "\n").encode()
    atomic_write(path.with_suffix(".json"), lambda f: f.write(text))
    return card


# torchvision's vgg19 'features' indices of the 16 conv layers, in order.
VGG19_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def load_vgg19_encoder(model: BlurNet, path: str | os.PathLike) -> int:
    """Initialise the encoder of a kim2018-shaped BlurNet from a local torchvision VGG-19
    state dict file (keys 'features.N.weight' / 'features.N.bias'). Nothing is downloaded.
    Returns the number of conv layers loaded."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"VGG-19 weights file {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsError(f"VGG-19 weights file {path} could not be read ({e}).") from None
    if not isinstance(state, dict):
        raise WeightsError(f"VGG-19 weights file {path} does not hold a state dict.")
    convs = [m for stage in model.encoder for m in stage if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != len(VGG19_CONV_INDICES):
        raise WeightsError(f"VGG-19 init needs a 16-conv encoder (kim2018); this model has {len(convs)} conv layers.")
    with torch.no_grad():
        for conv, idx in zip(convs, VGG19_CONV_INDICES):
            wk, bk = f"features.{idx}.weight", f"features.{idx}.bias"
            if wk not in state or bk not in state:
                raise WeightsError(f"VGG-19 weights file {path} lacks {wk}; is it a torchvision vgg19 state dict?")
            for key, param in ((wk, conv.weight), (bk, conv.bias)):
                if not isinstance(state[key], torch.Tensor) or tuple(state[key].shape) != tuple(param.shape):
                    got = tuple(state[key].shape) if isinstance(state[key], torch.Tensor) else type(state[key]).__name__
                    raise WeightsError(
                        f"VGG-19 weights file {path}: {key} has shape {got}, expected {tuple(param.shape)}."
                    )
            conv.weight.copy_(state[wk].float())
            conv.bias.copy_(state[bk].float())
    return len(convs)
