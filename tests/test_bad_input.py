"""Bad input and interruptions, across every command: no tracebacks, no input ever written over,
no stray files. Generated and deterministic: mutated photos through each command in-process, then
one test per defect the campaign of issue 27 found, and a few real subprocesses for signals and
pipes. Each defect test fails without its fix."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from blurstudio.blurmap import BlurMap
from blurstudio.cli import main
from blurstudio.errors import Terminated
from blurstudio.images import STALE_TEMP_SECONDS, TEMP_PREFIX, write_image
from blurstudio.model import load_model, save_model, WeightsError

ROOT = Path(__file__).resolve().parents[1]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(f"{TEMP_PREFIX}*")] + [p.name for p in folder.rglob("*.tmp*")]


def _textured(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _mutations(good: bytes, seed: int) -> list[tuple[str, bytes]]:
    """Truncations, byte flips, zeroed headers, junk: the same list on every run."""
    rng = np.random.default_rng(seed)
    out = [("empty", b""), ("junk", rng.integers(0, 256, 300, dtype=np.uint8).tobytes()),
           ("text", b"not a photo at all\n"), ("zero_header", bytes(32) + good[32:])]
    out += [(f"cut{k}", good[: len(good) * k // 10]) for k in range(1, 10)]
    for k in range(24):
        data = bytearray(good)
        for pos in rng.integers(0, len(data), 1 + k % 4):
            data[pos] ^= int(rng.integers(1, 256))
        out.append((f"flip{k}", bytes(data)))
    return out


@pytest.fixture(scope="module")
def shoot(tmp_path_factory) -> Path:
    """A folder of 2 good photos and 50 mutated ones (.jpg and .png)."""
    folder = tmp_path_factory.mktemp("shoot")
    for suffix, seed in ((".jpg", 1), (".png", 2)):
        good = folder / f"good{suffix}"
        write_image(good, _textured(seed=seed))
        for name, data in _mutations(good.read_bytes(), seed):
            (folder / f"{name}{suffix}").write_bytes(data)
    return folder


def test_detect_reports_every_mutated_photo_and_goes_on(shoot, tmp_path, tiny_model_path, capsys):
    before = _digest(shoot)
    out = tmp_path / "masks"
    rc = main(["detect", str(shoot), "-o", str(out), "--model", str(tiny_model_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1 and len(report["photos"]) + len(report["errors"]) == len(before)
    assert {"good.jpg", "good.png"} <= {Path(p["input"]).name for p in report["photos"]}
    assert all(e["error"].startswith(str(shoot)) for e in report["errors"])  # each names its file
    assert _digest(shoot) == before and _temps(out) == []
    written = {Path(f).name for p in report["photos"] for f in p["outputs"].values()}
    assert {p.name for p in out.iterdir()} == written  # a failed photo leaves no file


def test_cull_reports_every_mutated_photo_and_goes_on(shoot, tmp_path, tiny_model_path, capsys):
    import shutil

    shoot = Path(shutil.copytree(shoot, tmp_path / "shoot"))  # --xmp writes sidecars beside the photos
    before = _digest(shoot)
    report = tmp_path / "report"
    rc = main(["cull", str(shoot), "-o", str(report), "--model", str(tiny_model_path), "--workers", "0", "--xmp"])
    err = capsys.readouterr().err
    data = json.loads((report / "cull.json").read_text())
    assert rc == 1 and "Traceback" not in err
    assert len(data["photos"]) + len(data["errors"]) == len(before)
    assert {"good.jpg", "good.png"} <= {Path(p["path"]).name for p in data["photos"]}
    # Inputs untouched; sidecars only beside the photos that were culled, as asked (--xmp).
    assert {k: v for k, v in _digest(shoot).items() if not k.endswith(".xmp")} == before
    assert _temps(tmp_path) == [] and _temps(shoot) == []


@pytest.mark.parametrize("command", ["select", "magnify", "deblur"])
def test_edit_commands_refuse_every_mutated_photo_cleanly(command, shoot, tmp_path, tiny_model_path, capsys):
    before = _digest(shoot)
    for photo in sorted(shoot.iterdir()):
        out = tmp_path / f"{photo.stem}_{photo.suffix[1:]}.png"
        rc = main([command, str(photo), "-o", str(out), "--model", str(tiny_model_path), "--device", "cpu"])
        err = capsys.readouterr().err
        assert rc in (0, 1), (photo.name, err)
        if rc == 1:
            assert err.startswith(f"blurstudio {command}: ") and not out.exists(), (photo.name, err)
    assert _digest(shoot) == before and _temps(tmp_path) == []


# --- the campaign's defects, one by one ---------------------------------------------------

@pytest.fixture()
def photo(tmp_path) -> Path:
    return write_image(tmp_path / "p.jpg", _textured(96, 128))


def _run(argv: list, capsys) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def test_1_no_command_writes_over_any_of_its_inputs(photo, tmp_path, tiny_model_path, capsys):
    matte = write_image(tmp_path / "matte.png", np.full((96, 128), 255, np.uint8))
    blurmap = tmp_path / "map.npy"
    np.save(blurmap, BlurMap.from_labels(np.zeros((96, 128), np.uint8)).probs.astype(np.float16))
    png = write_image(tmp_path / "p.png", _textured(96, 128))
    cases = [
        ["magnify", photo, "--matte", matte, "-o", matte, "--overwrite", "--blurmap", blurmap],
        ["magnify", png, "-o", png, "--overwrite", "--blurmap", blurmap],
        ["select", png, "-o", png, "--overwrite", "--blurmap", blurmap],
        ["select", png, "-o", tmp_path / "m.png", "--cutout", png, "--overwrite", "--blurmap", blurmap],
        ["deblur", png, "-o", png, "--overwrite", "--blurmap", blurmap],
        ["deblur", photo, "-o", tmp_path / "d.png", "--kernel-out", png, "--overwrite", "--model", png],
    ]
    before = _digest(tmp_path)
    for argv in cases:
        rc, err = _run(argv, capsys)
        assert rc == 2 and "refusing to write over the input" in err, (argv, err)
    assert _digest(tmp_path) == before


def test_2_an_unwritable_output_folder_is_a_message_not_a_traceback(photo, tmp_path, tiny_model_path, capsys):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc (Linux)")
    import cv2

    blurred = write_image(tmp_path / "b.png", cv2.GaussianBlur(_textured(256, 256), (0, 0), 2))
    np.save(tmp_path / "b.npy", BlurMap.from_labels(np.full((256, 256), 2, np.uint8)).probs)
    for command in ("magnify", "deblur", "select"):  # all the work done, then the write fails
        rc, err = _run([command, blurred, "-o", "/proc/self/x.png", "--blurmap", tmp_path / "b.npy"], capsys)
        assert rc in (1, 2) and err.splitlines()[-1].startswith(f"blurstudio {command}: /proc/self/x.png"), err
    rc, err = _run(["detect", photo, "-o", "/proc/self", "--model", tiny_model_path], capsys)
    assert rc in (1, 2) and "Traceback" not in err and "/proc/self" in err


def test_3_a_long_but_legal_output_name_is_written(photo, tmp_path, tiny_model_path, capsys):
    out = tmp_path / ("m" * 246 + ".png")  # 250 characters: legal, but not with 14 more
    rc, err = _run(["magnify", photo, "-o", out, "--model", tiny_model_path], capsys)
    assert rc == 0, err
    assert out.is_file() and _temps(tmp_path) == []
    rc, err = _run(["detect", tmp_path / "p.jpg", "-o", tmp_path / "d", "--model", tiny_model_path], capsys)
    assert rc == 0, err


def test_4_an_interrupted_write_leaves_no_temporary_file_and_old_ones_are_swept(photo, tmp_path, tiny_model_path,
                                                                                capsys, monkeypatch):
    import blurstudio.images as images

    out = tmp_path / "out"
    out.mkdir()
    stale, fresh = out / f"{TEMP_PREFIX}old00000.tmp", out / f"{TEMP_PREFIX}new00000.tmp"
    stale.write_bytes(b"left by a killed run")
    fresh.write_bytes(b"a write in progress elsewhere")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))

    real_save = images.Image.Image.save

    def save_then_terminate(self, fp, *args, **kwargs):  # SIGTERM arriving mid-write
        real_save(self, fp, *args, **kwargs)
        raise Terminated()

    monkeypatch.setattr(images.Image.Image, "save", save_then_terminate)
    rc, err = _run(["magnify", photo, "-o", out / "m.png", "--model", tiny_model_path], capsys)
    assert rc == 143 and "terminated" in err
    assert sorted(p.name for p in out.iterdir()) == [fresh.name]  # the stale one swept, no new temp


@pytest.mark.parametrize("entry", [{"working_scales": 3}, {"working_scales": None}, {"working_max_side": [1]},
                                   {"working_flip": "yes"}, {"name": 7}, {"working_scales": [0.5, float("nan")]}])
def test_5_a_card_with_wrong_value_types_is_a_weights_error(entry, photo, tmp_path, tiny_model_path, capsys):
    model, card = load_model(tiny_model_path)
    bad = tmp_path / "bad.pt"
    save_model(model, bad, card)
    card = json.loads(bad.with_suffix(".json").read_text())
    card.update(entry)
    bad.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match=f"'{next(iter(entry))}' must be"):
        load_model(bad)
    rc, err = _run(["detect", photo, "-o", tmp_path / "o", "--model", bad], capsys)
    assert rc == 2 and "Model card" in err and "Traceback" not in err


def test_6_names_over_255_bytes_are_refused_with_a_message(photo, tmp_path, tiny_model_path, capsys):
    long_name = tmp_path / ("x" * 300 + ".jpg")
    rc, err = _run(["detect", long_name, "--model", tiny_model_path], capsys)
    assert rc == 1 and "longer than 255 bytes" in err
    for command in ("select", "magnify", "deblur"):
        rc, err = _run([command, long_name, "-o", tmp_path / "o.png"], capsys)
        assert rc == 1 and "longer than 255 bytes" in err, err
        rc, err = _run([command, photo, "-o", tmp_path / ("o" * 300 + ".png")], capsys)
        assert rc == 2 and "longer than 255 bytes" in err, err


def _npy_with_header(path: Path, shape: tuple) -> Path:
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
        f.write(bytes(64))
    return path


def test_7_a_blur_map_whose_header_lies_is_refused_before_loading(photo, tmp_path, capsys):
    huge = _npy_with_header(tmp_path / "huge.npy", (3, 100_000, 100_000))
    rc, err = _run(["magnify", photo, "--blurmap", huge, "-o", tmp_path / "o.png"], capsys)
    assert rc == 1 and "(100000, 100000) does not match the photo (96, 128)" in err
    wrong = _npy_with_header(tmp_path / "wrong.npy", (5, 96, 128))
    rc, err = _run(["select", photo, "--blurmap", wrong, "-o", tmp_path / "o.png"], capsys)
    assert rc == 1 and "not blur probabilities of shape (3, H, W)" in err
    png = write_image(tmp_path / "map.png", np.zeros((96, 128), np.uint8))
    rc, err = _run(["deblur", photo, "--blurmap", png, "-o", tmp_path / "o.png"], capsys)
    assert rc == 1 and "is an image, not a saved blur map" in err


def test_8_interrupts_exit_130_and_143(photo, tmp_path, tiny_model_path, capsys, monkeypatch):
    import blurstudio.commands.magnify as magnify_command

    for exc, code in ((KeyboardInterrupt, 130), (Terminated, 143)):
        def interrupted(args, exc=exc):
            raise exc()
        monkeypatch.setattr(magnify_command, "run", interrupted)
        assert main(["magnify", str(photo), "-o", str(tmp_path / "o.png")]) == code
    # Start-up (building the parser imports every command module) is inside the handler too.
    import blurstudio.commands as commands

    monkeypatch.setattr(commands, "build_parser", lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert main(["detect", str(photo)]) == 130


def test_9_outputs_a_format_cannot_hold_are_refused_before_anything_is_written(tmp_path, tiny_model_path, capsys):
    wide = write_image(tmp_path / "wide.png", _textured(16, 66_000))  # JPEG holds at most 65,535 px
    out = tmp_path / "masks"
    rc, err = _run(["detect", wide, "-o", out, "--model", tiny_model_path, "--max-side", "64"], capsys)
    assert rc == 1 and "JPEG cannot store an image of 66000x16" in err
    assert list(out.iterdir()) == []  # not the two PNGs without the overlay


def test_10_non_finite_weights_and_maps_are_refused(photo, tmp_path, tiny_model_path, capsys):
    model, card = load_model(tiny_model_path)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    nan_weights = tmp_path / "nan.pt"
    save_model(model, nan_weights, card)
    with pytest.raises(WeightsError, match="NaN or infinite"):
        load_model(nan_weights)
    rc, err = _run(["detect", photo, "-o", tmp_path / "o", "--model", nan_weights], capsys)
    assert rc == 2 and "NaN or infinite" in err
    probs = BlurMap.from_labels(np.zeros((96, 128), np.uint8)).probs
    probs[1, 5, 5] = np.nan
    np.save(tmp_path / "nan_map.npy", probs)
    for command in ("magnify", "select", "deblur"):
        rc, err = _run([command, photo, "--blurmap", tmp_path / "nan_map.npy", "-o", tmp_path / "o.png"], capsys)
        assert rc == 1 and "NaN or infinite" in err, (command, err)
    np.save(tmp_path / "big.npy", np.full_like(probs, 7.0))
    rc, err = _run(["select", photo, "--blurmap", tmp_path / "big.npy", "-o", tmp_path / "o.png"], capsys)
    assert rc == 1 and "not probabilities" in err


def test_also_fifos_small_photos_and_the_nothing_to_do_path(tmp_path, tiny_model_path, capsys):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    rc, err = _run(["detect", fifo, "--model", tiny_model_path], capsys)
    assert rc == 1 and "not a regular file" in err
    rc, err = _run(["magnify", fifo, "-o", tmp_path / "o.png"], capsys)
    assert rc == 1 and "not a regular file" in err
    small = write_image(tmp_path / "small.png", _textured(40, 40))
    np.save(tmp_path / "blurred.npy", BlurMap.from_labels(np.full((40, 40), 2, np.uint8)).probs)
    rc, err = _run(["deblur", small, "--blurmap", tmp_path / "blurred.npy", "-o", tmp_path / "o.png"], capsys)
    assert rc == 1 and "at least about 130x130 pixels" in err


# --- real processes: start-up cost, signals, pipes -----------------------------------------

def _cli(*args: str, **kwargs) -> subprocess.Popen:
    """`blurstudio ARGS` in a new process that says "ready" on stderr once the interpreter itself has
    started: a signal during the interpreter's own start-up (before any of our code) is Python's."""
    code = "import sys; sys.stderr.write('ready\\n'); sys.stderr.flush(); from blurstudio.cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT, **kwargs)
    assert proc.stderr.readline() == b"ready\n"
    return proc


def test_detect_checks_its_inputs_before_importing_torch(tmp_path):
    code = ("import sys; from blurstudio.cli import main; rc = main(['detect', 'nothere.jpg']); "
            "print(rc, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.stdout.split() == ["1", "False"]


def test_json_into_a_closed_pipe_and_signals_end_without_a_traceback(tmp_path, tiny_model_path):
    photo = write_image(tmp_path / "p.png", _textured(64, 64))
    proc = _cli("detect", str(photo), "-o", str(tmp_path / "o"), "--model", str(tiny_model_path), "--json")
    proc.stdout.close()  # as `| head` does once it has read enough
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and proc.returncode in (0, 141)

    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        for delay in (0.05, 1.0):  # during start-up (imports, the parser), then during the work
            proc = _cli("detect", str(photo), "-o", str(tmp_path / f"o{delay}"), "--model", str(tiny_model_path))
            time.sleep(delay)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=120)
            assert b"Traceback" not in err, err.decode()
            # SIGTERM before main has installed its handler ends the process the default way,
            # before it has done anything: that is fine too.
            early = (-signal.SIGTERM,) if sig == signal.SIGTERM else ()
            assert proc.returncode in (0, code, *early), (sig, delay, proc.returncode, err.decode())
    assert _temps(tmp_path) == []
