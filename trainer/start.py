"""How a run's network starts: built from the [model] table, then from exported weights (a later
stage), from pretrained encoder weights (HED's VGG16, or a torchvision VGG-19), or at random; and
the frozen teacher a run may learn from. Errors are ValueErrors naming the setting at fault."""

from __future__ import annotations

import dataclasses

import torch

from blurstudio.model import PRESETS, BlurNet, BlurNetConfig, BlurNetEnsemble, WeightsError, load_model, load_vgg19_encoder

from .hed import load_hed_encoder


def model_from_config(mc: dict) -> BlurNet:
    """The untrained network a config's [model] table describes: `preset` (or a full `config`
    table), with any BlurNetConfig field given beside it (`context_bins`, `enc_depths`, ...) replaced."""
    if mc.get("config"):
        config = BlurNetConfig.from_dict(mc["config"])
    elif mc.get("preset") in PRESETS:
        config = PRESETS[mc["preset"]]
    else:
        raise ValueError(f"model.preset must be one of {sorted(PRESETS)}, got {mc.get('preset')!r}")
    fields = {f.name for f in dataclasses.fields(BlurNetConfig)} - {"num_classes"}
    changes = {k: tuple(int(x) for x in v) for k, v in mc.items() if k in fields}
    return BlurNet(dataclasses.replace(config, **changes))


def grown_layers(src: BlurNetConfig, dst: BlurNetConfig) -> list[str] | None:
    """The conv layers `dst` appends to `src`'s encoder and decoder stacks ("encoder.3.4" and so on),
    or None unless `dst` is `src` with stacks as deep or deeper and, if `src` has none, optionally
    context pooling."""
    if src.context_bins and dst.context_bins != src.context_bins:
        return None
    if dataclasses.replace(dst, enc_depths=src.enc_depths, dec_depths=src.dec_depths, context_bins=src.context_bins) != src:
        return None
    new = []
    for part, before, after in (("encoder", src.enc_depths, dst.enc_depths), ("decoder", src.dec_depths, dst.dec_depths)):
        if any(b < a for a, b in zip(before, after)):
            return None
        for i, (a, b) in enumerate(zip(before, after)):
            new += [f"{part}.{i}.{2 * k}" for k in range(a, b)]  # a stack is [conv, ReLU] * depth
    return new


def init_from_weights(model: BlurNet, weights: str) -> dict:
    """Load exported weights (verified against their card) into `model`. Returns what the card of
    the new weights records about its starting point, with the names of the parameters the weights
    did not have (`new_parameters`). The model may add context pooling (its zero output conv leaves the weights'
    function unchanged) and conv layers at the end of any stack: each starts as the identity (a
    Dirac kernel; its input is a ReLU's output, so the ReLU after it changes nothing), so the grown
    network computes exactly what the weights did until it is trained (Net2DeeperNet, Chen et al. 2016)."""
    try:
        src, card = load_model(weights)
    except WeightsError as e:
        raise ValueError(f"model.init: {e} (train the earlier stage first; see the config's comments)") from None
    if isinstance(src, BlurNetEnsemble):
        raise ValueError(f"model.init: {weights} is an ensemble of {len(src.members)} networks; start from one of "
                         "its members (its card's training.members names them).")
    grown = grown_layers(src.config, model.config)
    if grown is None:
        raise ValueError(f"model.init: {weights} is a different architecture from this config's model.")
    missing, _ = model.load_state_dict(src.state_dict(), strict=False)
    modules = dict(model.named_modules())
    with torch.no_grad():
        for name in grown:
            torch.nn.init.dirac_(modules[name].weight)
            torch.nn.init.zeros_(modules[name].bias)
    tr = card.get("training", {})
    record = {"weights": str(weights), "sha256": card["sha256"], "steps": tr.get("steps", 0),
              "wall_seconds": tr.get("wall_seconds", 0), "command": tr.get("command"),
              "synthetic_val": card.get("metrics", {}).get("synthetic_val"), "new_parameters": sorted(missing)}
    return record


def load_teacher(weights: str) -> tuple[torch.nn.Module, dict]:
    """Exported weights (one network or an ensemble, verified against their card), frozen, and
    what the card of the new weights records about them."""
    try:
        model, card = load_model(weights)
    except WeightsError as e:
        raise ValueError(f"train.teacher: {e} (export the teacher first; see the config's comments)") from None
    record = {"weights": str(weights), "sha256": card["sha256"], "description": card.get("description", ""),
              "synthetic_val": card.get("metrics", {}).get("synthetic_val")}
    return model.float().eval().requires_grad_(False), record


def initialise(model: BlurNet, mc: dict) -> dict | None:
    """Start `model` as its [model] table says (`init`, `hed` or `vgg19`; else it stays random).
    Returns the record the checkpoint and the card keep (training.init), or None."""
    if mc.get("init"):
        record = init_from_weights(model, mc["init"])
        print(f"initialised from {mc['init']} ({record['steps']} steps; {len(record['new_parameters'])} new parameter tensors)")
        return record
    try:
        if mc.get("hed"):
            record = {"hed": load_hed_encoder(model, mc["hed"]), "new_parameters": []}
            print(f"initialised {record['hed']['layers']} encoder conv layers from HED ({record['hed']['source']})")
            return record
        if mc.get("vgg19"):
            n = load_vgg19_encoder(model, mc["vgg19"])
            print(f"initialised {n} encoder conv layers from {mc['vgg19']}")
            return {"vgg19": str(mc["vgg19"]), "new_parameters": []}
    except WeightsError as e:
        raise ValueError(f"model.{'hed' if mc.get('hed') else 'vgg19'}: {e}") from None
    return None
