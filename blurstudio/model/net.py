"""BlurNet: the encoder-decoder of Kim et al. 2018, built from a config.

Encoder: VGG-19-style 3x3 conv + ReLU blocks with 4 max-pools (stride 16).
Decoder: 4 stride-2 transposed convs, each followed by an element-wise sum with a
1x1 conv of the encoder feature at that scale (the paper's long skips), then 3x3 convs,
then a 1x1 logit head (3 classes: sharp, motion, defocus) at that scale.
No batch normalisation (the paper found it lowered accuracy).
Optional context pooling (`context_bins`, PSPNet-style, Zhao et al. 2017) at the bottleneck: a
plain stack of 3x3 convs sees only a bounded window, so a flat sky or wall gives it nothing to judge
blur by; pooled averages over the whole image (and coarse grids of it) let such regions follow the
rest of the photo. Its output conv starts at zero, so adding it to trained weights changes nothing
until it is trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
import torch.nn.functional as F

NUM_CLASSES = 3
CLASS_NAMES = ("sharp", "motion", "defocus")


@dataclass(frozen=True)
class BlurNetConfig:
    """Widths and depths of each stage; the defaults are the paper's network."""

    enc_widths: tuple[int, ...] = (64, 128, 256, 512, 512)
    enc_depths: tuple[int, ...] = (2, 2, 4, 4, 4)  # VGG-19: 16 conv layers
    dec_widths: tuple[int, ...] = (512, 256, 128, 64)  # at 1/8, 1/4, 1/2, 1
    dec_depths: tuple[int, ...] = (4, 4, 4, 3)  # 15 conv layers
    num_classes: int = NUM_CLASSES
    context_bins: tuple[int, ...] = ()  # grid sizes pooled at the bottleneck; () = no context pooling

    def __post_init__(self) -> None:
        if len(self.enc_widths) != 5 or len(self.enc_depths) != 5:
            raise ValueError("BlurNetConfig needs 5 encoder stages")
        if len(self.dec_widths) != 4 or len(self.dec_depths) != 4:
            raise ValueError("BlurNetConfig needs 4 decoder stages")
        if min(self.enc_depths) < 1 or min(self.dec_depths) < 0 or min(self.enc_widths + self.dec_widths) < 1:
            raise ValueError("BlurNetConfig widths must be >= 1, encoder depths >= 1")
        if any(int(b) < 1 for b in self.context_bins):
            raise ValueError("BlurNetConfig context_bins must be grid sizes >= 1")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "BlurNetConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


PRESETS: dict[str, BlurNetConfig] = {
    "kim2018": BlurNetConfig(),
    # Same topology, about 1/25 of the compute: fast on CPUs.
    "compact": BlurNetConfig(
        enc_widths=(16, 32, 64, 96, 128),
        enc_depths=(1, 1, 2, 2, 2),
        dec_widths=(96, 64, 32, 16),
        dec_depths=(1, 1, 1, 1),
    ),
    # VGG-16's encoder through conv5_1, to start from HED's edge-trained weights (trainer/hed.py).
    # Whole VGG-16 (13 convs, 14.7M parameters) would be 29 MB in fp16 alone; cut after conv5_1
    # (10.0M) the whole network is 12.3M parameters, 24.6 MB, inside the 25 MB budget, and every
    # encoder layer is still HED's exactly. Context pooling stands in for block 5's wider view.
    "vgg16": BlurNetConfig(
        enc_widths=(64, 128, 256, 512, 512),
        enc_depths=(2, 2, 3, 3, 1),
        dec_widths=(128, 96, 64, 32),
        dec_depths=(1, 1, 1, 1),
        context_bins=(1, 2, 3, 6),
    ),
}

STRIDE = 16  # 4 max-pools: input sides must be multiples of this


def _conv_stack(cin: int, cout: int, depth: int) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
        cin = cout
    return nn.Sequential(*layers), cin


class ContextPool(nn.Module):
    """Adds pooled image-wide context to a feature map: for each grid size, average-pool, 1x1 conv,
    upsample back; the concatenation goes through a zero-initialised 1x1 conv into a residual sum."""

    def __init__(self, width: int, bins: tuple[int, ...]) -> None:
        super().__init__()
        self.bins = tuple(int(b) for b in bins)
        branch = max(8, width // len(self.bins))
        self.reduce = nn.ModuleList(nn.Conv2d(width, branch, 1) for _ in self.bins)
        self.fuse = nn.Conv2d(branch * len(self.bins), width, 1)
        nn.init.zeros_(self.fuse.weight)
        nn.init.zeros_(self.fuse.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        ctx = [
            F.interpolate(F.relu(conv(F.adaptive_avg_pool2d(x, b))), size=size, mode="bilinear", align_corners=False)
            for b, conv in zip(self.bins, self.reduce)
        ]
        return F.relu(x + self.fuse(torch.cat(ctx, 1)))


class BlurNet(nn.Module):
    """Per-pixel blur classifier. forward(x) returns logits at 4 scales, finest last."""

    def __init__(self, config: BlurNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or BlurNetConfig()
        c = self.config
        self.encoder = nn.ModuleList()
        cin = 3
        for width, depth in zip(c.enc_widths, c.enc_depths):
            stack, cin = _conv_stack(cin, width, depth)
            self.encoder.append(stack)
        self.context = ContextPool(cin, c.context_bins) if c.context_bins else None
        self.up = nn.ModuleList()
        self.skip = nn.ModuleList()
        self.decoder = nn.ModuleList()
        self.heads = nn.ModuleList()
        # Encoder features at 1/8, 1/4, 1/2, 1 are stages 3, 2, 1, 0.
        for i, (width, depth) in enumerate(zip(c.dec_widths, c.dec_depths)):
            self.up.append(nn.ConvTranspose2d(cin, width, 4, stride=2, padding=1))
            self.skip.append(nn.Conv2d(c.enc_widths[3 - i], width, 1))
            stack, cin = _conv_stack(width, width, depth)
            self.decoder.append(stack)
            self.heads.append(nn.Conv2d(width, c.num_classes, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: (N, 3, H, W) normalised RGB, H and W multiples of 16.

        Returns 4 logit tensors at 1/8, 1/4, 1/2 and full resolution.
        """
        if x.shape[-1] % STRIDE or x.shape[-2] % STRIDE:
            raise ValueError(f"BlurNet input sides must be multiples of {STRIDE}, got {tuple(x.shape[-2:])}")
        feats = []
        for i, stage in enumerate(self.encoder):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = stage(x)
            feats.append(x)
        if self.context is not None:
            x = self.context(x)
        outs = []
        for i in range(4):
            x = self.up[i](x)
            x = F.relu(x + self.skip[i](feats[3 - i]), inplace=True)
            x = self.decoder[i](x)
            outs.append(self.heads[i](x))
        return outs


COMBINE = ("mean", "split")


class BlurNetEnsemble(nn.Module):
    """Several BlurNets run on the same input, their class probabilities combined at each scale.

    combine "mean": the probabilities averaged (members trained differently make different
    mistakes; see docs/training_trials.md). combine "split" (two members): the first decides
    sharp against blurred, the second which blur: p(sharp) = first's, p(motion) and p(defocus) =
    (1 - first's p(sharp)) shared as the second's motion : defocus. The bundled `compact` is such a
    pair: a network taught on real photos, whose real photos are all defocus, for where the blur
    is, and its predecessor, which kept telling motion from defocus, for which blur it is.
    forward(x) returns, like BlurNet, 4 tensors finest last; each is the log of the combined
    probability, so a softmax over it gives the probabilities back.
    """

    def __init__(self, members: list[BlurNet], combine: str = "mean") -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least 2 members")
        if combine not in COMBINE:
            raise ValueError(f"combine must be one of {COMBINE}, got {combine!r}")
        if combine == "split" and len(members) != 2:
            raise ValueError("a split ensemble has exactly 2 members (where the blur is, which blur)")
        self.members = nn.ModuleList(members)
        self.combine = combine

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [[torch.softmax(o.float(), 1) for o in m(x)] for m in self.members]
        if self.combine == "mean":
            probs = [sum(o[i] for o in outs) / len(outs) for i in range(4)]
        else:
            probs = []
            for where, which in zip(*outs):
                share = which[:, 1:] / which[:, 1:].sum(1, keepdim=True).clamp_min(1e-12)
                probs.append(torch.cat([where[:, :1], (1 - where[:, :1]) * share], 1))
        # clamp: a probability that underflowed to 0 would give -inf
        return [p.clamp_min(1e-30).log().to(x.dtype) for p in probs]


def build_model(preset_or_config: str | BlurNetConfig | dict = "compact") -> BlurNet:
    """Build an untrained BlurNet from a preset name, a config or a config dict."""
    if isinstance(preset_or_config, str):
        if preset_or_config not in PRESETS:
            raise ValueError(f"unknown model preset {preset_or_config!r}; choose one of {sorted(PRESETS)}")
        return BlurNet(PRESETS[preset_or_config])
    if isinstance(preset_or_config, dict):
        return BlurNet(BlurNetConfig.from_dict(preset_or_config))
    return BlurNet(preset_or_config)


# ImageNet statistics: VGG weights expect this normalisation, and we keep it for every preset.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> network input."""
    mean = images.new_tensor(MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(STD).view(1, 3, 1, 1)
    return (images - mean) / std
