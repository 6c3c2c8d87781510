"""BlurNet shapes and heads, weight files (round trip and every loading error), VGG-19 init."""

import dataclasses
import json
import os
import shutil
import stat

import numpy as np
import pytest
import torch

from blurstudio.detect import Detector
from blurstudio.model import (
    PRESETS,
    STRIDE,
    BlurNet,
    BlurNetConfig,
    BlurNetEnsemble,
    WeightsError,
    build_model,
    load_model,
    load_vgg19_encoder,
    normalise,
    save_model,
)
from blurstudio.model.weights import VGG19_CONV_INDICES

from conftest import TINY_CONFIG


@pytest.fixture(scope="module")
def kim():
    """One kim2018 network for the module: building it (about 29M parameters) takes a while on CPU."""
    torch.manual_seed(0)
    return build_model("kim2018").eval()


# A VGG-19-shaped encoder (16 convs in 2, 2, 4, 4, 4) but narrow: quick to save and load.
NARROW_VGG = BlurNetConfig(enc_widths=(2, 2, 4, 4, 4), enc_depths=(2, 2, 4, 4, 4),
                           dec_widths=(4, 4, 2, 2), dec_depths=(1, 1, 1, 1))


@pytest.mark.parametrize("preset", ["compact", "kim2018"])
def test_presets_give_four_heads_at_each_scale(preset, kim):
    torch.manual_seed(0)
    net = kim if preset == "kim2018" else build_model(preset).eval()
    with torch.inference_mode():
        outs = net(torch.zeros(1, 3, 32, 48))
    assert [tuple(o.shape) for o in outs] == [(1, 3, 4, 6), (1, 3, 8, 12), (1, 3, 16, 24), (1, 3, 32, 48)]


def test_kim2018_has_the_papers_layer_counts(kim):
    net = kim
    enc_convs = [m for stage in net.encoder for m in stage if isinstance(m, torch.nn.Conv2d)]
    dec_convs = [m for stage in net.decoder for m in stage if isinstance(m, torch.nn.Conv2d)]
    assert len(enc_convs) == 16 and len(dec_convs) == 15
    assert len(net.up) == 4 and all(isinstance(u, torch.nn.ConvTranspose2d) for u in net.up)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


def test_forward_refuses_sides_not_multiple_of_stride():
    net = build_model(TINY_CONFIG)
    with pytest.raises(ValueError, match="multiples of 16"):
        net(torch.zeros(1, 3, 30, 32))


@pytest.mark.parametrize("preset,size", [("compact", (37, 53)), ("compact", (1, 5)), ("kim2018", (21, 19))])
def test_detector_pads_odd_sizes(preset, size, kim):
    torch.manual_seed(0)
    det = Detector(kim if preset == "kim2018" else build_model(preset), device="cpu")
    photo = np.random.default_rng(0).integers(0, 256, size + (3,), dtype=np.uint8)
    bm = det(photo)
    assert bm.shape == size
    assert np.allclose(bm.probs.sum(axis=0), 1.0, atol=1e-4)
    assert STRIDE == 16


def test_normalise_uses_imagenet_statistics():
    x = torch.ones(1, 3, 2, 2) * torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    assert torch.allclose(normalise(x), torch.zeros_like(x), atol=1e-6)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown model preset"):
        build_model("resnet")


def test_config_round_trip():
    for config in PRESETS.values():
        assert BlurNetConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_context_pooling_starts_as_the_plain_network_and_then_uses_the_whole_image():
    torch.manual_seed(0)
    plain = build_model(TINY_CONFIG).eval()
    ctx = build_model(dataclasses.replace(TINY_CONFIG, context_bins=(1, 2, 3, 6))).eval()
    missing, unexpected = ctx.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("context.") for k in missing)
    # Maps smaller than the largest grid (a 48 x 32 input is 3 x 2 at the bottleneck) work too.
    x, far = torch.randn(1, 3, 48, 32), torch.randn(1, 3, 48, 32)
    far[..., :16, :] = x[..., :16, :]  # same top third, different elsewhere
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(ctx(x), plain(x)))
        torch.nn.init.normal_(ctx.context.fuse.weight)
        out = ctx(x)
        assert [o.shape[-2:] for o in out] == [(6, 4), (12, 8), (24, 16), (48, 32)]
        assert not torch.equal(out[-1], plain(x)[-1])
        # The pooled context carries information from the whole image into every pixel: the
        # bottleneck of a pixel at the top now depends on the bottom of the image.
        assert not torch.allclose(ctx(x)[0][..., 0, 0], ctx(far)[0][..., 0, 0])


def test_context_bins_must_be_grid_sizes():
    with pytest.raises(ValueError, match="context_bins"):
        BlurNetConfig(context_bins=(0, 2))
    config = BlurNetConfig(context_bins=(1, 3))
    assert BlurNetConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


# ---- weight files ----

def test_weight_round_trip(tmp_path):
    torch.manual_seed(1)
    net = build_model(TINY_CONFIG)
    card = save_model(net, tmp_path / "m.pt", {"name": "m", "working_max_side": 320})
    loaded, card2 = load_model(tmp_path / "m.pt")
    assert card2["sha256"] == card["sha256"] and card2["working_max_side"] == 320
    assert loaded.config == TINY_CONFIG
    for k, v in net.state_dict().items():  # stored as fp16
        assert torch.allclose(loaded.state_dict()[k], v.half().float())
    assert Detector(tmp_path / "m.pt", device="cpu").max_side == 320
    # Written like any other file (not owner-only, as a temporary file would be).
    umask = os.umask(0)
    os.umask(umask)
    for f in ("m.pt", "m.json"):
        assert stat.S_IMODE((tmp_path / f).stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]  # no temporary files left


def test_weights_with_context_pooling_round_trip(tmp_path):
    config = dataclasses.replace(TINY_CONFIG, context_bins=(1, 2))
    net = build_model(config)
    torch.nn.init.normal_(net.context.fuse.weight)
    save_model(net, tmp_path / "c.pt", {"name": "c"})
    loaded, card = load_model(tmp_path / "c.pt")
    assert loaded.config == config and card["architecture"]["context_bins"] == [1, 2]
    assert torch.allclose(loaded.context.fuse.weight, net.context.fuse.weight.half().float())


def test_ensemble_averages_its_members_probabilities_and_round_trips(tmp_path):
    torch.manual_seed(2)
    a, b = build_model(TINY_CONFIG), build_model(dataclasses.replace(TINY_CONFIG, context_bins=(1, 2)))
    torch.nn.init.normal_(b.context.fuse.weight)
    ens = BlurNetEnsemble([a, b]).eval()
    x = torch.randn(1, 3, 32, 48)
    with torch.no_grad():
        outs, oa, ob = ens(x), a(x), b(x)
    assert [o.shape for o in outs] == [o.shape for o in oa]
    for o, p, q in zip(outs, oa, ob):  # a softmax over the output gives the mean of the members'
        mean = (torch.softmax(p, 1) + torch.softmax(q, 1)) / 2
        assert torch.allclose(torch.softmax(o, 1), mean, atol=1e-6)
    save_model(ens, tmp_path / "e.pt", {"name": "e", "working_max_side": 64})
    loaded, card = load_model(tmp_path / "e.pt")
    assert isinstance(loaded, BlurNetEnsemble)
    assert card["architecture"] == {"members": [TINY_CONFIG.to_dict(), b.config.to_dict()]}
    assert [m.config for m in loaded.members] == [TINY_CONFIG, b.config]
    with torch.no_grad():
        assert torch.allclose(torch.softmax(loaded(x)[-1], 1), torch.softmax(ens(x)[-1], 1), atol=2e-3)  # fp16 file
    photo = np.random.default_rng(0).integers(0, 255, (40, 56, 3), np.uint8)
    probs = Detector(tmp_path / "e.pt", device="cpu")(photo).probs
    assert probs.shape == (3, 40, 56) and np.allclose(probs.sum(0), 1, atol=1e-3)


def test_ensemble_needs_two_members():
    with pytest.raises(ValueError, match="at least 2"):
        BlurNetEnsemble([build_model(TINY_CONFIG)])


def _copy(src, dst_dir, name="w"):
    pt = dst_dir / f"{name}.pt"
    shutil.copy(src, pt)
    shutil.copy(src.with_suffix(".json"), pt.with_suffix(".json"))
    return pt


def test_missing_weights_file(tmp_path):
    with pytest.raises(WeightsError, match=r"nothere\.pt does not exist"):
        load_model(tmp_path / "nothere.pt")


def test_unknown_bundled_name():
    with pytest.raises(WeightsError, match="No bundled model named 'nosuchmodel'"):
        load_model("nosuchmodel")


def test_missing_card(tmp_path, tiny_model_path):
    pt = tmp_path / "w.pt"
    shutil.copy(tiny_model_path, pt)
    with pytest.raises(WeightsError, match=r"w\.json is missing"):
        load_model(pt)


def test_bad_hash(tmp_path, tiny_model_path):
    pt = _copy(tiny_model_path, tmp_path)
    data = bytearray(pt.read_bytes())
    data[-100] ^= 0xFF
    pt.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="corrupt or was changed"):
        load_model(pt)


def test_garbage_file_with_matching_hash(tmp_path, tiny_model_path):
    from blurstudio.model import sha256_of

    pt = _copy(tiny_model_path, tmp_path)
    pt.write_bytes(b"this is not a torch file" * 10)
    card = json.loads(pt.with_suffix(".json").read_text())
    card["sha256"] = sha256_of(pt)
    pt.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="could not be read as a PyTorch state dict"):
        load_model(pt)


def test_mismatched_architecture(tmp_path, tiny_model_path):
    pt = _copy(tiny_model_path, tmp_path)
    card = json.loads(pt.with_suffix(".json").read_text())
    card["architecture"] = PRESETS["compact"].to_dict()
    pt.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="does not match the architecture"):
        load_model(pt)


@pytest.mark.parametrize(
    "text,match",
    [
        ("{not json", "not valid JSON"),
        ('{"sha256": "x"}', "no 'architecture'"),
        ('{"architecture": {}}', "no 'sha256'"),
        ('{"architecture": "compact", "sha256": "SHA"}', "invalid architecture"),
        ('{"architecture": {"enc_widths": [1, 2]}, "sha256": "SHA"}', "invalid architecture"),
        ('{"architecture": {"members": "compact"}, "sha256": "SHA"}', "invalid architecture"),
        ('{"architecture": {"members": [{"enc_widths": [1]}, {}]}, "sha256": "SHA"}', "invalid architecture"),
    ],
)
def test_broken_cards(tmp_path, tiny_model_path, text, match):
    from blurstudio.model import sha256_of

    pt = _copy(tiny_model_path, tmp_path)
    pt.with_suffix(".json").write_text(text.replace("SHA", sha256_of(pt)))
    with pytest.raises(WeightsError, match=match):
        load_model(pt)


def test_state_dict_with_missing_keys(tmp_path, tiny_model_path):
    from blurstudio.model import sha256_of

    pt = _copy(tiny_model_path, tmp_path)
    state = torch.load(pt, weights_only=True)
    state.pop(next(iter(state)))
    torch.save(state, pt)
    card = json.loads(pt.with_suffix(".json").read_text())
    card["sha256"] = sha256_of(pt)
    pt.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="1 missing keys"):
        load_model(pt)


# ---- VGG-19 initialisation ----

def _fake_vgg19_state(widths=(64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512)):
    """torchvision vgg19 'features' keys and shapes (for the given widths), constant values."""
    state, cin = {}, 3
    for idx, cout in zip(VGG19_CONV_INDICES, widths):
        state[f"features.{idx}.weight"] = torch.full((cout, cin, 3, 3), idx / 100.0)
        state[f"features.{idx}.bias"] = torch.full((cout,), -idx / 100.0)
        cin = cout
    state["classifier.0.weight"] = torch.zeros(2, 2)  # ignored
    return state


NARROW_WIDTHS = (2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4)


def test_load_vgg19_encoder_full_size(tmp_path, kim):
    torch.save(_fake_vgg19_state(), tmp_path / "vgg19.pth")
    assert load_vgg19_encoder(kim, tmp_path / "vgg19.pth") == 16
    convs = [m for stage in kim.encoder for m in stage if isinstance(m, torch.nn.Conv2d)]
    for conv, idx in zip(convs, VGG19_CONV_INDICES):
        assert torch.all(conv.weight == idx / 100.0) and torch.all(conv.bias == -idx / 100.0)


def test_load_vgg19_encoder_errors(tmp_path):
    narrow = build_model(NARROW_VGG)
    with pytest.raises(WeightsError, match="does not exist"):
        load_vgg19_encoder(narrow, tmp_path / "none.pth")
    torch.save(_fake_vgg19_state(NARROW_WIDTHS), tmp_path / "vgg19.pth")
    assert load_vgg19_encoder(narrow, tmp_path / "vgg19.pth") == 16
    with pytest.raises(WeightsError, match="16-conv encoder"):
        load_vgg19_encoder(build_model("compact"), tmp_path / "vgg19.pth")
    state = _fake_vgg19_state(NARROW_WIDTHS)
    del state["features.34.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(WeightsError, match="lacks features.34.weight"):
        load_vgg19_encoder(narrow, tmp_path / "partial.pth")
    state = _fake_vgg19_state(NARROW_WIDTHS)
    state["features.0.weight"] = torch.zeros(2, 3, 5, 5)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(WeightsError, match="has shape"):
        load_vgg19_encoder(narrow, tmp_path / "shape.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="does not hold a state dict"):
        load_vgg19_encoder(narrow, tmp_path / "list.pth")
    (tmp_path / "garbage.pth").write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="could not be read"):
        load_vgg19_encoder(narrow, tmp_path / "garbage.pth")


def test_blurnet_is_plain_module():
    assert isinstance(build_model(TINY_CONFIG), BlurNet)


def test_a_split_ensemble_takes_where_from_the_first_and_which_blur_from_the_second(tmp_path):
    from blurstudio.model import BlurNetEnsemble, load_model, save_model

    torch.manual_seed(0)
    where, which = build_model(TINY_CONFIG).eval(), build_model(TINY_CONFIG).eval()
    split = BlurNetEnsemble([where, which], combine="split").eval()
    x = torch.randn(1, 3, 32, 48)
    with torch.no_grad():
        got = [torch.softmax(o, 1) for o in split(x)]
        pw, pt = [torch.softmax(o, 1) for o in where(x)], [torch.softmax(o, 1) for o in which(x)]
    for g, a, b in zip(got, pw, pt):
        assert torch.allclose(g.sum(1), torch.ones_like(g.sum(1)), atol=1e-5)
        assert torch.allclose(g[:, 0], a[:, 0], atol=1e-5)  # where the blur is: the first member's
        ratio = b[:, 1] / (b[:, 1] + b[:, 2])  # which blur: the second member's motion : defocus
        assert torch.allclose(g[:, 1] / (g[:, 1] + g[:, 2]), ratio, atol=1e-4)
    save_model(split, tmp_path / "split.pt", {"name": "split"})
    loaded, card = load_model(tmp_path / "split.pt")
    assert card["architecture"]["combine"] == "split" and loaded.combine == "split"
    with pytest.raises(ValueError, match="exactly 2 members"):
        BlurNetEnsemble([where, which, where], combine="split")
    with pytest.raises(ValueError, match="combine must be one of"):
        BlurNetEnsemble([where, which], combine="max")
