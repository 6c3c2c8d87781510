"""The paper's synthetic blur data, generated on the fly (see generate.py for the recipe)."""

from .generate import MIN_VISIBLE_EXTENT, VAL_SEED, SynthConfig, make_sample, sample_rng, synth_config
from .sources import SOURCE_KEYS, Sources, load_sources, read_exclusion_list

__all__ = ["MIN_VISIBLE_EXTENT", "SOURCE_KEYS", "SynthConfig", "Sources", "VAL_SEED", "load_sources", "make_sample", "read_exclusion_list", "sample_rng", "synth_config"]
