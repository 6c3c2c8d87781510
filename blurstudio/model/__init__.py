"""The blur-detection network (Kim et al. 2018) and its weights."""

from .net import CLASS_NAMES, NUM_CLASSES, PRESETS, STRIDE, BlurNet, BlurNetConfig, BlurNetEnsemble, build_model, normalise
from .weights import (
    WEIGHTS_DIR,
    WeightsError,
    bundled_models,
    load_model,
    load_vgg19_encoder,
    read_card,
    resolve_weights,
    save_model,
    sha256_of,
)

__all__ = [
    "CLASS_NAMES", "NUM_CLASSES", "PRESETS", "STRIDE", "BlurNet", "BlurNetConfig", "BlurNetEnsemble", "build_model",
    "normalise", "WEIGHTS_DIR", "WeightsError", "bundled_models", "load_model", "load_vgg19_encoder", "read_card",
    "resolve_weights", "save_model", "sha256_of",
]
