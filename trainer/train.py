"""Train BlurNet with the multi-scale loss on the synthetic stream. Read it top to bottom.

    python -m trainer.train --config trainer/configs/compact_stage1.toml            # start
    python -m trainer.train --config trainer/configs/compact_stage1.toml --resume   # continue exactly
    (--max-minutes M or --stop-at STEP checkpoint and stop early, keeping the schedule)
    torchrun --nproc_per_node 4 -m trainer.train --config ...                 # several GPUs (DDP)

A config's `model.init` names exported weights (a .pt with its card) to start from instead of random
weights: a later stage fine-tunes an earlier stage's export with a fresh optimiser and schedule.
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
import dataclasses
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from blurstudio.model import PRESETS, BlurNet, BlurNetConfig, BlurNetEnsemble, WeightsError, load_model, load_vgg19_encoder, normalise

from .data import SynthStream, to_tensor
from .hed import load_hed_encoder
from .real import MixedStream, load_real_photos, real_val_set
from .metrics import BlurMetrics
from .synth import SOURCE_KEYS, VAL_SEED, SynthConfig, load_sources, make_sample, read_exclusion_list, sample_rng, synth_config


REQUIRED_TRAIN_KEYS = ("out", "seed", "steps", "batch", "lr")
LOG_FIELDS = ("step", "loss", "lr", "sec_per_step", "wall_seconds", "val_miou", "val_pixel_accuracy", "val_binary_miou",
              "val_f_measure", "real_binary_miou", "real_in_focus_iou", "real_in_focus_f")


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    """A training config (TOML), with `overrides` ({"section.key": value}) applied. Raises ValueError
    naming what is wrong when it cannot be read or lacks a table or setting training needs."""
    try:
        with open(path, "rb") as f:
            cfg = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"cannot read config: {e}") from e
    for k, v in (overrides or {}).items():
        section, key = k.split(".", 1)
        cfg.setdefault(section, {})[key] = v
    for table in ("model", "data", "train"):
        if not isinstance(cfg.get(table), dict):
            raise ValueError(f"needs a [{table}] table")
    missing = [k for k in REQUIRED_TRAIN_KEYS if k not in cfg["train"]]
    if missing:
        raise ValueError(f"[train] needs {', '.join(missing)}")
    return cfg


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


def make_val_set(source_dirs: dict, cfg: SynthConfig, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A fixed validation set from the held-out ('val' split) photos, objects and layouts."""
    src = load_sources(source_dirs.get("photos", []), source_dirs.get("objects", []), source_dirs.get("layouts", []), "val",
                       source_dirs.get("exclude", []))
    return [make_sample(src, sample_rng(VAL_SEED, i), cfg) for i in range(count)]


@torch.inference_mode()
def validate(model: torch.nn.Module, val: list, device: torch.device, batch: int = 8) -> dict:
    """Metrics of the network alone on [(RGB uint8, labels)]; photos of different sizes need batch=1."""
    model.eval()
    metrics = BlurMetrics()
    for i in range(0, len(val), batch):
        imgs = torch.stack([to_tensor(x) for x, _ in val[i : i + batch]]).to(device)
        probs = torch.softmax(model(normalise(imgs))[-1].float(), dim=1).cpu().numpy()
        for p, (_, lab) in zip(probs, val[i : i + batch]):
            metrics.update(p, lab)
    model.train()
    return metrics.compute()


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
        raise SystemExit(f"model.init: {e} (train the earlier stage first; see the config's comments)") from None
    if isinstance(src, BlurNetEnsemble):
        raise SystemExit(f"model.init: {weights} is an ensemble of {len(src.members)} networks; start from one of "
                         "its members (its card's training.members names them).")
    grown = grown_layers(src.config, model.config)
    if grown is None:
        raise SystemExit(f"model.init: {weights} is a different architecture from this config's model.")
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


def check_teaching(tc: dict) -> None:
    """`distill` (0 to 1) weights the teacher's loss against the labels'; it and `teacher_flip` need a
    `teacher`; `ema` is a decay below 1 (0 for none)."""
    alpha = tc.get("distill", 0.0)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"[train] distill is a weight from 0 to 1, got {alpha!r}")
    if alpha > 0 and not tc.get("teacher"):
        raise ValueError("[train] distill needs a teacher (exported weights)")
    if alpha > 0 and not Path(tc["teacher"]).is_file():
        raise ValueError(f"[train] teacher {tc['teacher']} does not exist (export it first; see the config's comments)")
    if tc.get("teacher") and alpha == 0:
        raise ValueError("[train] teacher is set but distill is 0: give distill a weight, or drop teacher")
    if tc.get("teacher_flip") and not tc.get("teacher"):
        raise ValueError("[train] teacher_flip needs a teacher")
    decay = tc.get("ema", 0.0)
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < 1:
        raise ValueError(f"[train] ema is a decay from 0 (off) to below 1, such as 0.998; got {decay!r}")


def load_teacher(weights: str) -> tuple[torch.nn.Module, dict]:
    """Exported weights (one network or an ensemble, verified against their card), frozen, and
    what the card of the new weights records about them."""
    try:
        model, card = load_model(weights)
    except WeightsError as e:
        raise SystemExit(f"train.teacher: {e} (export the teacher first; see the config's comments)") from None
    record = {"weights": str(weights), "sha256": card["sha256"], "description": card.get("description", ""),
              "synthetic_val": card.get("metrics", {}).get("synthetic_val")}
    return model.float().eval().requires_grad_(False), record


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

    try:
        cfg = load_config(args.config, {"train.steps": args.steps} if args.steps else None)
    except ValueError as e:
        ap.error(f"{args.config}: {e}")
    tc, dc, mc = cfg["train"], cfg["data"], cfg["model"]
    try:  # checked before anything is created, so a typo costs nothing
        synth_cfg = synth_config(cfg.get("synth", {}), dc.get("crop", 224))
        val_cfg = synth_config(cfg.get("synth", {}), dc.get("val_size", 224))
        model_from_config(mc)
        for f in dc.get("exclude", []):
            read_exclusion_list(f)
        check_teaching(tc)
    except (ValueError, TypeError, FileNotFoundError) as e:
        ap.error(f"{args.config}: {e}")
    teacher, teacher_record, alpha = None, None, tc.get("distill", 0.0)
    if alpha > 0:  # loaded (and verified) before the run folder is made; learnt with weight `distill`
        teacher, teacher_record = load_teacher(tc["teacher"])
    out = Path(args.out or tc["out"])
    out.mkdir(parents=True, exist_ok=True)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if args.device == "auto":
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.manual_seed(tc["seed"])

    ckpt_path = out / "last.pt"
    resuming = args.resume and ckpt_path.is_file()  # --resume without a checkpoint starts as a new run
    model = model_from_config(mc).to(device)
    ck = torch.load(ckpt_path, map_location=device, weights_only=False) if resuming else None
    init = ck.get("init") if ck else None
    if mc.get("init") and not resuming:
        init = init_from_weights(model, mc["init"])
        print(f"initialised from {mc['init']} ({init['steps']} steps; {len(init['new_parameters'])} new parameter tensors)")
    elif mc.get("vgg19") and not resuming:
        n = load_vgg19_encoder(model, mc["vgg19"])
        print(f"initialised {n} encoder conv layers from {mc['vgg19']}")
    elif mc.get("hed") and not resuming:  # the record goes into the checkpoint and the card's training.init
        try:
            init = {"hed": load_hed_encoder(model, mc["hed"]), "new_parameters": []}
        except WeightsError as e:
            raise SystemExit(f"model.hed: {e}") from None
        print(f"initialised {init['hed']['layers']} encoder conv layers from HED ({init['hed']['source']})")
    # encoder_lr_mult slows what the encoder already knows; layers the init weights lacked learn at the full rate.
    added = set((init or {}).get("new_parameters", []))
    enc = [p for n, p in model.named_parameters() if n.startswith("encoder.") and n not in added]
    dec = [p for n, p in model.named_parameters() if not n.startswith("encoder.") or n in added]
    if tc.get("encoder_lr_mult", 1.0) == 0:
        for p in enc:  # a frozen encoder: no gradients to compute for it at all
            p.requires_grad_(False)
    lr = tc["lr"]
    opt = torch.optim.AdamW(
        [{"params": enc, "lr": lr * tc.get("encoder_lr_mult", 1.0)}, {"params": dec, "lr": lr}],
        betas=(0.9, 0.999), weight_decay=tc.get("weight_decay", 0.0),
    )
    steps, warmup = tc["steps"], tc.get("warmup", 200)
    restarts, restart_lr = tc.get("restarts", []), tc.get("restart_lr", 1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, warmup, steps, restarts, restart_lr))
    if teacher is not None:
        teacher = teacher.to(device)
    ema_decay = tc.get("ema", 0.0)
    ema = copy.deepcopy(model).requires_grad_(False) if ema_decay else None  # starts at the init weights
    use_amp = device.type == "cuda" and tc.get("amp", True)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    start_step, wall_before, best = 0, 0.0, None
    if resuming:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        start_step, wall_before, best = ck["step"], ck.get("wall_seconds", 0.0), ck.get("best")
        if ema is not None and ck.get("ema") is not None:
            ema.load_state_dict(ck["ema"])
        elif ema is not None:  # ema was added to the config after this checkpoint: average from here on
            ema.load_state_dict(ck["model"])
            print("the checkpoint has no weight average; it starts at the resumed weights")
        print(f"resumed from {ckpt_path} at step {start_step}")
    elif args.resume:
        print(f"no checkpoint at {ckpt_path}; starting fresh")

    train_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    source_dirs = {k: dc.get(k, []) for k in SOURCE_KEYS}
    batch = tc["batch"]
    real_side = cfg.get("export", {}).get("working_max_side", 480)
    real_train = load_real_photos(dc["real"], dc.get("real_layout", "cuhk"), "train") if dc.get("real") else []
    stream = MixedStream(SynthStream(source_dirs, synth_cfg, tc["seed"], split="train"), real_train, batch,
                         dc.get("real_per_batch", 0) if real_train else 0, real_side)
    loader = DataLoader(
        stream, batch_size=batch, sampler=StepSampler(start_step, steps, batch, rank, world),
        num_workers=tc.get("workers", 1), persistent_workers=False, pin_memory=device.type == "cuda",
    )
    val = make_val_set(source_dirs, val_cfg, dc.get("val_count", 128)) if rank == 0 else []
    val_real = real_val_set(load_real_photos(dc["real"], dc.get("real_layout", "cuhk"), "val"), real_side) if dc.get("real") and rank == 0 else []
    cw = torch.tensor(tc["class_weights"], device=device) if tc.get("class_weights") else None
    scale_w = tc.get("scale_weights", [1.0, 1.0, 1.0, 1.0])

    log_path = out / "log.csv"
    new_log = not log_path.exists() or start_step == 0
    logf = open(log_path, "w" if new_log else "a", newline="")
    log = csv.DictWriter(logf, LOG_FIELDS, restval="")
    if new_log:
        log.writeheader()

    def save_checkpoint(step: int) -> None:
        if rank != 0:
            return
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({
            "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict(), "step": step, "wall_seconds": wall_before + time.time() - t_start,
            "best": best, "config": cfg, "command": f"python -m trainer.train --config {args.config}", "init": init,
            "teacher": teacher_record, "ema": ema.state_dict() if ema is not None else None,
        }, tmp)
        os.replace(tmp, ckpt_path)

    t_start = time.time()
    t_last, running, done = time.time(), [], start_step
    tty = sys.stderr.isatty()
    model.train()
    for step, (imgs, labels, is_real) in enumerate(loader, start=start_step):
        imgs, labels = imgs.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        x = normalise(imgs)
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            outs = train_model(x)
        loss = multiscale_loss(outs, labels, cw, scale_w)
        synth = ~is_real.to(device)
        if teacher is not None and synth.any():  # taught on synthetic samples only (see the docstring)
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                t_outs = teacher_outputs(teacher, x[synth], bool(tc.get("teacher_flip")))
            share = synth.float().mean()
            loss = (1 - alpha * share) * loss + alpha * share * distill_loss([o[synth] for o in outs], t_outs, scale_w)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.get("clip", 1.0))
        scaler.step(opt)
        scaler.update()
        sched.step()
        if ema is not None:
            update_ema(ema, model, ema_decay)
        running.append(loss.item())
        done = step + 1
        if tty and rank == 0:
            print(f"\rstep {done}/{steps} loss {np.mean(running[-50:]):.4f}", end="", file=sys.stderr)
        row = {}
        if done % tc.get("log_every", 50) == 0 or done == steps:
            row = {"loss": f"{np.mean(running):.5f}", "lr": f"{sched.get_last_lr()[-1]:.3g}",
                   "sec_per_step": f"{(time.time() - t_last) / len(running):.3f}"}
            running, t_last = [], time.time()
        if rank == 0 and (done % tc.get("val_every", 500) == 0 or done == steps):
            net = ema if ema is not None else model
            m = validate(net, val, device)
            row.update({f"val_{k}": f"{m[k]:.4f}" for k in ("miou", "pixel_accuracy", "binary_miou", "f_measure")})
            if val_real:
                r = validate(net, val_real, device, batch=1)
                row.update({f"real_{k}": f"{r[k]:.4f}" for k in ("binary_miou", "in_focus_iou", "in_focus_f")})
                m["real"] = r
            if best is None or m["miou"] > best["miou"]:
                best = {"step": done, **m}
            print(f"\nstep {done}: val mIoU {m['miou']:.3f} acc {m['pixel_accuracy']:.3f} binary mIoU {m['binary_miou']:.3f}"
                  + (f"; real binary mIoU {r['binary_miou']:.3f} in-focus IoU {r['in_focus_iou']:.3f}" if val_real else ""), flush=True)
        if row and rank == 0:
            row.update(step=done, wall_seconds=f"{wall_before + time.time() - t_start:.0f}")
            log.writerow(row)
            logf.flush()
            print(",".join(f"{k}={v}" for k, v in row.items()), flush=True)
        if done % tc.get("ckpt_every", 250) == 0 or done == steps:
            save_checkpoint(done)
        out_of_time = args.max_minutes and time.time() - t_start > args.max_minutes * 60
        if (out_of_time or done == args.stop_at) and done < steps:
            save_checkpoint(done)
            print(f"\nstopped at step {done}; continue with --resume", flush=True)
            logf.close()
            return 0
    logf.close()
    if rank == 0 and done >= steps:
        from .export import export_checkpoint

        dest = args.export or cfg.get("export", {}).get("path")
        if dest:
            card = export_checkpoint(ckpt_path, dest, val)
            print(f"exported {dest}: {card['metrics']['synthetic_val']}")
    if world > 1:
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
