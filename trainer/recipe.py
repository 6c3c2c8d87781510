"""One command reproduces bundled weights: every stage of a recipe in order, resumable.

    python -m trainer.recipe compact                       # all stages, then resources/weights/compact.pt
    python -m trainer.recipe compact --dest my/compact.pt  # somewhere else
    python -m trainer.recipe compact --list                # the stages and which are done

Paths are relative to the repository root, where it runs. A stage is done when its export and card both exist (each is written atomically), so a rerun after an interrupt skips the finished stages and resumes the one that
was running from its checkpoint (`trainer.train --resume`), sample for sample. The last stage's
export is copied, verified, to `--dest` with its card.
This module sits above trainer.train and trainer.export and is imported by neither.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from blurstudio.model import WEIGHTS_DIR, WeightsError, load_model

from .export import export_ensemble
from .config import load_config
from .train import main as train_main

@dataclass(frozen=True)
class Train:
    """Train one config (its [train] out and [export] path say where the run and export go)."""

    config: str

    def export(self) -> Path:
        try:
            path = load_config(self.config).export.path
        except ValueError as e:
            raise RuntimeError(f"{self.config}: {e}") from None
        if not path:
            raise RuntimeError(f"{self.config}: a recipe stage needs [export] path")
        return Path(path)

    def run(self) -> None:
        try:
            code = train_main(["--config", self.config, "--resume"])
        except SystemExit as e:  # the trainer's own usage errors, already printed
            code = e.code
        if code != 0:
            raise RuntimeError(f"training {self.config} failed")


@dataclass(frozen=True)
class Ensemble:
    """Export exported weights as one ensemble (the detector averages their probabilities)."""

    members: tuple[str, ...]
    out: str
    combine: str = "mean"  # BlurNetEnsemble's: mean, or split (where the blur is, which blur)

    def export(self) -> Path:
        return Path(self.out)

    def run(self) -> None:
        export_ensemble(list(self.members), self.out, self.combine)


RECIPES: dict[str, tuple[Train | Ensemble, ...]] = {
    # The bundled `compact` weights: five synthetic stages (see docs/training.md), then real photos.
    "compact": (
        Train("trainer/configs/compact_stage1.toml"),
        Train("trainer/configs/compact_stage2.toml"),
        Train("trainer/configs/compact_stage3.toml"),
        Ensemble(("runs/compact_stage2/compact_stage2.pt", "runs/compact_stage3/compact_stage3.pt"),
                 "runs/compact_pair/compact_pair.pt"),
        Train("trainer/configs/compact_stage4.toml"),
        Train("trainer/configs/compact_stage5.toml"),
        Train("trainer/configs/compact_stage6.toml"),
        # Stage 6 says where the photo is blurred, stage 5 which blur: stage 6 learnt the real
        # photos' defocus, all defocus, at some cost to motion (see docs/training.md).
        Ensemble(("runs/compact_stage6/compact_stage6.pt", "runs/compact_stage5/compact_stage5.pt"),
                 "runs/compact/compact.pt", combine="split"),
    ),
}


def done(step: Train | Ensemble) -> bool:
    return step.export().is_file() and step.export().with_suffix(".json").is_file()


def run_recipe(steps: tuple[Train | Ensemble, ...], dest: Path, log=print) -> dict:
    """Run the steps not yet done, in order, then copy the last export (verified) and its card to
    `dest`. Returns the card. Raises RuntimeError or WeightsError naming the stage that failed."""
    for i, step in enumerate(steps, 1):
        name = step.config if isinstance(step, Train) else f"ensemble {step.out}"
        if done(step):
            log(f"stage {i}/{len(steps)} done: {step.export()}")
            continue
        log(f"stage {i}/{len(steps)}: {name}")
        t0 = time.time()
        step.run()
        if not done(step):
            raise RuntimeError(f"stage {i} ({name}) ended without writing {step.export()}")
        log(f"stage {i}/{len(steps)} finished in {(time.time() - t0) / 60:.1f} min: {step.export()}")
    final = steps[-1].export()
    _, card = load_model(final)  # verified against its card before it is copied anywhere
    dest.parent.mkdir(parents=True, exist_ok=True)
    if final.resolve() != dest.resolve():
        shutil.copyfile(final.with_suffix(".json"), dest.with_suffix(".json"))
        shutil.copyfile(final, dest)
    load_model(dest)
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recipe", choices=sorted(RECIPES))
    ap.add_argument("--dest", type=Path, help="where the final weights go (default: resources/weights/RECIPE.pt)")
    ap.add_argument("--list", action="store_true", help="list the stages and which are done, and stop")
    args = ap.parse_args(argv)
    steps = RECIPES[args.recipe]
    try:
        if args.list:
            for i, step in enumerate(steps, 1):
                state = "done" if done(step) else "to do"
                print(f"{i}. {state:5}  {step.config if isinstance(step, Train) else 'ensemble'} -> {step.export()}")
            return 0
        card = run_recipe(steps, args.dest or WEIGHTS_DIR / f"{args.recipe}.pt")
    except (RuntimeError, ValueError, WeightsError, OSError) as e:
        print(f"trainer.recipe: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("trainer.recipe: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"wrote {args.dest or WEIGHTS_DIR / f'{args.recipe}.pt'} (sha256 {card['sha256'][:12]}...)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
