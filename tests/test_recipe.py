"""trainer.recipe: the stages run in order, a rerun skips what is done and resumes the rest, the
final weights are verified and copied with their card; the bundled recipe names real configs."""

from pathlib import Path

import pytest

import trainer.recipe as recipe
from blurstudio.model import load_model
from trainer.recipe import RECIPES, Ensemble, Train, run_recipe
from trainer.config import load_config

TOML = """
[model]
config = {{ enc_widths = [4, 8, 8, 8, 8], enc_depths = [1, 1, 1, 1, 1], dec_widths = [8, 8, 8, 8], dec_depths = [1, 1, 1, 1] }}
{init}
[data]
crop = 32
val_size = 32
val_count = 2
[train]
out = "{out}"
seed = 0
steps = 4
batch = 2
lr = 1e-2
warmup = 1
val_every = 4
ckpt_every = 2
workers = 0
[export]
path = "{out}/w.pt"
"""


def _steps(tmp_path: Path) -> tuple:
    first, second = tmp_path / "first", tmp_path / "second"
    (tmp_path / "first.toml").write_text(TOML.format(out=first.as_posix(), init=""))
    (tmp_path / "second.toml").write_text(TOML.format(out=second.as_posix(), init=f'init = "{first.as_posix()}/w.pt"'))
    return (Train(str(tmp_path / "first.toml")), Train(str(tmp_path / "second.toml")),
            Ensemble((f"{first}/w.pt", f"{second}/w.pt"), str(tmp_path / "pair" / "pair.pt")))


def test_a_recipe_runs_its_stages_then_resumes_only_what_is_not_done(tmp_path, monkeypatch):
    calls = []
    real_train = recipe.train_main
    monkeypatch.setattr(recipe, "train_main", lambda argv: calls.append(argv[1]) or real_train(argv))
    steps, dest = _steps(tmp_path), tmp_path / "dest" / "final.pt"
    card = run_recipe(steps, dest, log=lambda *_: None)
    assert calls == [steps[0].config, steps[1].config]
    _, copied = load_model(dest)
    assert copied["sha256"] == card["sha256"] and len(copied["training"]["members"]) == 2
    assert load_model(steps[1].export())[1]["training"]["init"]["sha256"] == load_model(steps[0].export())[1]["sha256"]

    # Interrupted after stage 2 wrote its checkpoint but before its card: only stage 2 runs again.
    calls.clear()
    steps[1].export().with_suffix(".json").unlink()
    run_recipe(steps, dest, log=lambda *_: None)
    assert calls == [steps[1].config]
    calls.clear()
    run_recipe(steps, dest, log=lambda *_: None)
    assert calls == []


def test_a_failing_stage_stops_the_recipe_with_its_name(tmp_path):
    (tmp_path / "bad.toml").write_text("[model]\n")
    with pytest.raises(RuntimeError, match="bad.toml: needs a"):
        run_recipe((Train(str(tmp_path / "bad.toml")),), tmp_path / "w.pt", log=lambda *_: None)
    assert not (tmp_path / "w.pt").exists()


def test_the_bundled_recipe_chains_real_configs():
    steps = RECIPES["compact"]
    exports = set()
    for step in steps:
        if isinstance(step, Train):
            cfg = load_config(step.config)
            if cfg.model.get("init"):
                assert cfg.model["init"] in exports, (step.config, cfg.model["init"])
            if cfg.train.teacher:
                assert cfg.train.teacher in exports, step.config
        else:
            assert set(step.members) <= exports
        exports.add(str(step.export()))
    assert steps[-2].config.endswith("compact_stage6.toml") and steps[-1].combine == "split"
