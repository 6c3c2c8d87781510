"""Export bundled weights (fp16 state dict + model card): from a training checkpoint, or as the
ensemble of exported weights whose probabilities the detector averages.

    python -m trainer.export --checkpoint runs/compact_stage2/last.pt --out runs/compact_stage2/compact_stage2.pt
    python -m trainer.export --members runs/compact_stage2/compact_stage2.pt \
        runs/compact_stage3/compact_stage3.pt --out resources/weights/compact.pt
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from blurstudio.model import BlurNet, BlurNetEnsemble, WeightsError, load_model, save_model

from .config import RunConfig
from .start import model_from_config
from .synth import read_exclusion_list
from .validation import val_metrics


def export_checkpoint(checkpoint: str | Path, dest: str | Path, val: list | None = None, real: list | None = None) -> dict:
    """Write `dest` (.pt) and its card from a checkpoint; validation metrics are recomputed in fp16
    weights (what users get) on the run's synthetic validation set."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = RunConfig.from_table(ck["config"])
    model = model_from_config(cfg.model)
    model.load_state_dict(ck["ema"] if ck.get("ema") else ck["model"])  # the averaged weights when the run kept them
    model = model.half().float().eval()  # measure what the fp16 file will give
    metrics = val_metrics(model, cfg, val, real)
    card = {
        "name": Path(dest).stem,
        "preset": cfg.model.get("preset", "custom"),
        **cfg.export.card(),
        "training": {
            "config": cfg.table,
            "steps": ck["step"],
            "wall_seconds": round(ck.get("wall_seconds", 0.0)),
            "data_sources": {**cfg.data.sources(), "real": list(cfg.data.real)},
            "real_per_batch": cfg.data.real_per_batch if cfg.data.real else 0,
            # The names themselves, so the card says what was left out even if a list is edited later.
            "excluded_photos": sorted(set().union(*(read_exclusion_list(f) for f in cfg.data.exclude))),
            "seed": cfg.train.seed,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "init": ck.get("init"),  # the earlier stage this run fine-tuned, if any
            "teacher": ck.get("teacher"),  # the weights whose probabilities it also learnt, if any
            # Checkpoints record the command that made them; older ones are named after their preset.
            "command": ck.get("command") or f"python -m trainer.train --config trainer/configs/{cfg.model.get('preset')}.toml",
        },
        "metrics": metrics,
    }
    return save_model(model, dest, card)


WORKING_KEYS = ("working_max_side", "working_scales", "working_flip")


def export_ensemble(members: list[str | Path], dest: str | Path, combine: str = "mean") -> dict:
    """Write `dest` (.pt) and its card: the ensemble of exported weights `members` (combined as
    BlurNetEnsemble's `combine` says), each verified against its card. The card keeps each
    member's training record; validation metrics are those of the ensemble on the first member's
    validation sets."""
    if len(members) < 2:
        raise ValueError("an ensemble needs at least 2 member weights")
    if any(Path(m).resolve() == Path(dest).resolve() for m in members):
        raise ValueError(f"{dest} is one of the members; write the ensemble to another file")
    nets, cards = [], []
    for m in members:
        net, card = load_model(m)
        if not isinstance(net, BlurNet):
            raise ValueError(f"{m} is an ensemble already; give its members instead")
        nets.append(net)
        cards.append(card)
    for key in WORKING_KEYS:  # the detector runs the ensemble once, with one set of settings
        values = {json.dumps(c.get(key)) for c in cards}
        if len(values) > 1:
            raise ValueError(f"the members' cards disagree on {key} ({', '.join(sorted(values))})")
    first = cards[0].get("training", {}).get("config")
    if not first:
        raise ValueError(f"{members[0]}'s card records no training config to build the validation set from")
    model = BlurNetEnsemble(nets, combine).eval()
    metrics = val_metrics(model, RunConfig.from_table(first))
    records = [{"weights": str(m), "sha256": c["sha256"], **c.get("training", {}),
                "synthetic_val": c.get("metrics", {}).get("synthetic_val")} for m, c in zip(members, cards)]
    presets = {c.get("preset") for c in cards}
    card = {
        "name": Path(dest).stem,
        "preset": presets.pop() if len(presets) == 1 else "custom",
        "description": (f"{len(members)} networks ({', '.join(Path(m).stem for m in members)}) whose class "
                        "probabilities the detector averages") if combine == "mean" else
                       (f"{Path(members[0]).stem} says where the photo is blurred, {Path(members[1]).stem} "
                        "which blur (motion or defocus)"),
        **{key: cards[0].get(key) for key in WORKING_KEYS},
        "training": {
            "members": records,
            "command": f"python -m trainer.export --members {' '.join(str(m) for m in members)} "
                       + (f"--combine {combine} " if combine != "mean" else "") + f"--out {dest}",
        },
        "metrics": metrics,
    }
    return save_model(model, dest, card)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a training checkpoint (runs/NAME/last.pt)")
    src.add_argument("--members", nargs="+", metavar="WEIGHTS", help="2 or more exported .pt files to average")
    ap.add_argument("--combine", choices=("mean", "split"), default="mean",
                    help="mean: average the members' probabilities; split: the first says where the blur is, "
                    "the second which blur (default: mean)")
    ap.add_argument("--out", required=True, help="destination .pt (a .json card is written beside it)")
    args = ap.parse_args(argv)
    if not args.out.endswith(".pt"):
        ap.error(f"--out must be a .pt file, got {args.out}")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        ap.error(f"--checkpoint {args.checkpoint} does not exist")
    try:
        if args.members:
            card = export_ensemble(args.members, args.out, args.combine)
            what = f"ensemble of {len(args.members)}"
        else:
            card = export_checkpoint(args.checkpoint, args.out)
            what = f"step {card['training']['steps']}"
    except (ValueError, WeightsError, FileNotFoundError) as e:
        ap.error(str(e))
    m = card["metrics"]["synthetic_val"]
    print(f"wrote {args.out}: {what}, val mIoU {m['miou']:.3f}, "
          f"pixel accuracy {m['pixel_accuracy']:.3f}, binary mIoU {m['binary_miou']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
