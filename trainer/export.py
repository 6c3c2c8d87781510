"""Export a training checkpoint as bundled weights: fp16 state dict + model card.

    python -m trainer.export --checkpoint runs/compact/last.pt --out resources/weights/compact.pt
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

from blurstudio.model import save_model


def export_checkpoint(checkpoint: str | Path, dest: str | Path, val: list | None = None) -> dict:
    """Write `dest` (.pt) and its card from a checkpoint; validation metrics are recomputed in fp16
    weights (what users get) on the run's synthetic validation set."""
    from .synth import SOURCE_KEYS, synth_config
    from .train import make_val_set, model_from_config, validate

    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    model = model_from_config(cfg["model"])
    model.load_state_dict(ck["model"])
    model = model.half().float().eval()  # measure what the fp16 file will give
    dc = cfg["data"]
    if val is None:
        val = make_val_set({k: dc.get(k, []) for k in SOURCE_KEYS},
                           synth_config(cfg.get("synth", {}), dc.get("val_size", 224)), dc.get("val_count", 128))
    metrics = validate(model, val, torch.device("cpu"))
    card = {
        "name": Path(dest).stem,
        "preset": cfg["model"].get("preset", "custom"),
        "working_max_side": cfg.get("export", {}).get("working_max_side", 640),
        "working_scales": cfg.get("export", {}).get("working_scales", [1.0]),
        "working_flip": cfg.get("export", {}).get("working_flip", False),
        "training": {
            "config": cfg,
            "steps": ck["step"],
            "wall_seconds": round(ck.get("wall_seconds", 0.0)),
            "data_sources": {k: dc.get(k, []) for k in SOURCE_KEYS},
            "seed": cfg["train"]["seed"],
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "init": ck.get("init"),  # the earlier stage this run fine-tuned, if any
            # Checkpoints record the command that made them; older ones are named after their preset.
            "command": ck.get("command") or f"python -m trainer.train --config trainer/configs/{cfg['model'].get('preset')}.toml",
        },
        "metrics": {"synthetic_val": metrics, "synthetic_val_count": len(val)},
    }
    return save_model(model, dest, card)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True, help="destination .pt (a .json card is written beside it)")
    args = ap.parse_args(argv)
    card = export_checkpoint(args.checkpoint, args.out)
    m = card["metrics"]["synthetic_val"]
    print(f"wrote {args.out}: step {card['training']['steps']}, val mIoU {m['miou']:.3f}, "
          f"pixel accuracy {m['pixel_accuracy']:.3f}, binary mIoU {m['binary_miou']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
