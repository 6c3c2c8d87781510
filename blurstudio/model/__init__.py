"""The blur-detection network (Kim et al. 2018) and its weights.

The model card and the weights registry (card.py) need no torch, and importing this package does not
import it: the network's names (net.py, weights.py) load torch on first use, so the GUI can read
cards and list models at start-up without waiting for it.
"""

import importlib

from ..errors import WeightsError
from .card import WEIGHTS_DIR, ModelCard, bundled_models, is_weights_file, read_card, resolve_weights, weights_path

_TORCH_NAMES = {
    "net": ("CLASS_NAMES", "NUM_CLASSES", "PRESETS", "STRIDE", "BlurNet", "BlurNetConfig", "BlurNetEnsemble",
            "build_model", "normalise"),
    "weights": ("load_model", "load_vgg19_encoder", "save_model", "sha256_of"),
}
_MODULE_OF = {name: module for module, names in _TORCH_NAMES.items() for name in names}

__all__ = ["WEIGHTS_DIR", "ModelCard", "WeightsError", "bundled_models", "is_weights_file", "read_card",
           "resolve_weights", "weights_path", *_MODULE_OF]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
