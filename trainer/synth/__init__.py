"""The paper's synthetic blur data, generated on the fly (see generate.py for the recipe)."""

from .generate import MIN_VISIBLE_EXTENT, VAL_SEED, SynthConfig, make_sample, sample_rng, synth_config
from .sources import Sources, load_sources

__all__ = ["MIN_VISIBLE_EXTENT", "SynthConfig", "Sources", "VAL_SEED", "load_sources", "make_sample", "sample_rng", "synth_config"]
