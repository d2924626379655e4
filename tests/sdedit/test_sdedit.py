"""The ``sdedit`` translator with a tiny random-weight diffusers model made here (no Hub
access): offline loading, folder checks, strength/seed/mask/repeats/size/batching behaviour,
the DDPM sampler, and the registry's Hub model folders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans_testenv import ROOT

SIZE = 16  # the tiny model's sample_size
BUNDLED = ROOT / "pretrained" / "sdedit_facades_synth"  # a DDPMPipeline folder
STEPS = ("--opt", "steps=10")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A DDPMPipeline folder (model_index.json, unet/, scheduler/) with random weights."""
    import torch
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=SIZE, in_channels=3, out_channels=3, block_out_channels=(16, 32),
                       layers_per_block=1, down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=8)
    folder = tmp_path_factory.mktemp("sdedit_model") / "tiny-ddpm"
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000)).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), array)
    return path


def _read(path: Path) -> np.ndarray:
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert array is not None, path
    return cv2.cvtColor(array, cv2.COLOR_BGR2RGB) if array.ndim == 3 else array


def _image(h=SIZE, w=SIZE, seed=0) -> np.ndarray:
    """A smooth colour pattern plus a little noise (a plausible guide image)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 3)
    rgb = [127 + 100 * np.sin(xx / (3 + c) + yy / (5 - c) + phase[c]) for c in range(3)]
    noisy = np.stack(rgb, -1) + rng.normal(0, 8, (h, w, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def convert(src, out, model, *opts, seed=1, extra=()):
    result = run("convert", src, out, "--plugin", "sdedit", "--weights", model, *STEPS,
                 *[x for o in opts for x in ("--opt", o)], "--seed", seed, "--progress", "none", *extra)
    return result


# -- the algorithm on tensors --------------------------------------------------------------

def test_steps_rule_and_reference_timesteps():
    from diffusers import DDPMScheduler

    from imgtrans_sdedit.sdedit import edit_timesteps, make_scheduler, steps_to_run

    assert steps_to_run(50, 0.5) == 25 and steps_to_run(10, 0.05) == 0 and steps_to_run(10, 1.0) == 10
    config = dict(DDPMScheduler(num_train_timesteps=1000).config)
    reference = edit_timesteps(make_scheduler(config, "ddpm", 1000), 1000, 0.5)
    assert reference.tolist() == list(range(499, -1, -1))  # the reference loop for t=500
    ddim = edit_timesteps(make_scheduler(config, "ddim", 50), 50, 0.5)
    assert len(ddim) == 25 and int(ddim[0]) == 480 and int(ddim[-1]) == 0
    assert make_scheduler(config, "ddim", 50).config.clip_sample is False


def test_no_step_returns_the_input_itself(model_dir):
    import torch

    from imgtrans_sdedit.sdedit import load_model_folder, sdedit

    model = load_model_folder(model_dir)
    x = torch.rand(1, 3, SIZE, SIZE) * 2 - 1
    for strength, steps in ((0.0, 10), (0.05, 10)):
        assert sdedit(model.unet, model.scheduler_config, x, strength=strength, steps=steps) is x


def test_plugin_import_is_light():
    """The translator, its options and the folder checks import neither torch nor diffusers,
    even when recognising a model folder."""
    from imgtrans_testenv import subprocess_env

    code = ("import sys, imgtrans_sdedit.translator as t, imgtrans_sdedit.options; "
            f"assert t.SDEditTranslator.recognises_folder({str(BUNDLED)!r}); "
            "print(sorted(m for m in ('torch', 'diffusers', 'imgtrans_sdedit.sdedit', "
            "'imgtrans_sdedit.masks', 'imgtrans_sdedit.training') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=subprocess_env(), check=True).stdout
    assert out.strip() == "[]"


def test_modules_use_only_the_public_plugin_api():
    import ast

    import imgtrans_sdedit

    for path in sorted(Path(imgtrans_sdedit.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
        internal = {n for n in names if (n == "imgtrans" or n.startswith("imgtrans.")) and n != "imgtrans.plugin"}
        assert not internal, f"{path.name} imports {sorted(internal)}"


def test_training_modules_do_not_import_the_translator():
    from imgtrans_testenv import subprocess_env

    code = ("import sys, imgtrans_sdedit.training, imgtrans_sdedit.sdedit, imgtrans_sdedit.masks; "
            "print('imgtrans_sdedit.translator' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=subprocess_env(), check=True).stdout
    assert out.strip() == "False"


# -- loading -------------------------------------------------------------------------------

def test_loads_offline_from_both_layouts(model_dir, tmp_path):
    from imgtrans_sdedit.sdedit import load_model_folder

    model = load_model_folder(model_dir)
    assert model.sample_size == (SIZE, SIZE) and model.channels == 3
    assert model.layout.unet_subfolder == "unet"
    flat = tmp_path / "flat"  # the google/ddpm-* Hub repositories keep everything at the top
    flat.mkdir()
    shutil.copy(model_dir / "model_index.json", flat)
    for part in ("unet", "scheduler"):
        for f in (model_dir / part).iterdir():
            shutil.copy(f, flat / f.name)
    flat_model = load_model_folder(flat)
    assert flat_model.layout.unet_subfolder is None and flat_model.sample_size == (SIZE, SIZE)


def test_not_a_model_folder_is_a_weights_error(host, tmp_path):
    src = _write(tmp_path / "in.png", _image())
    bad = tmp_path / "not-a-model"
    (bad / "unet").mkdir(parents=True)
    (bad / "unet" / "config.json").write_text("{}")
    result = convert(src, tmp_path / "out.png", bad)
    assert result.exit_code == 5, result.output
    for missing in ("model_index.json", "unet/diffusion_pytorch_model.safetensors",
                    "scheduler/scheduler_config.json"):
        assert missing in result.output
    assert "Traceback" not in result.output
    a_file = _write(tmp_path / "weights.png", _image())
    result = convert(src, tmp_path / "out2.png", a_file)
    assert result.exit_code == 5 and "is a file" in result.output


def test_latent_pipeline_is_refused(model_dir, tmp_path):
    from imgtrans.errors import WeightsError
    from imgtrans_sdedit.folders import inspect_model_folder
    from imgtrans_sdedit.translator import SDEditTranslator

    latent = tmp_path / "ldm"
    shutil.copytree(model_dir, latent)
    index = json.loads((latent / "model_index.json").read_text())
    index["vqvae"] = ["diffusers", "VQModel"]
    (latent / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(WeightsError, match="latent-space"):
        inspect_model_folder(latent)
    assert not SDEditTranslator.recognises_folder(latent)


def test_recognises_diffusers_pixel_space_model_folders(model_dir, tmp_path):
    from imgtrans_sdedit.translator import SDEditTranslator

    recognises = SDEditTranslator.recognises_folder
    assert recognises(model_dir) and recognises(BUNDLED)
    flat = tmp_path / "flat"  # the google/ddpm-* Hub layout
    flat.mkdir()
    shutil.copy(model_dir / "model_index.json", flat)
    for part in ("unet", "scheduler"):
        for f in (model_dir / part).iterdir():
            shutil.copy(f, flat / f.name)
    assert recognises(flat)
    empty = tmp_path / "empty"
    empty.mkdir()
    pths = tmp_path / "pths"
    pths.mkdir()
    for name in ("netG.pth", "netD.pth"):
        (pths / name).write_bytes(b"not really a checkpoint")
    assert not recognises(empty) and not recognises(pths)
    assert not recognises(tmp_path / "missing") and not recognises(model_dir / "model_index.json")
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "unet" / "config.json").write_text("{not json")
    assert not recognises(broken)
    unet = json.loads((model_dir / "unet" / "config.json").read_text())
    conditional = tmp_path / "conditional"
    shutil.copytree(model_dir, conditional)
    (conditional / "unet" / "config.json").write_text(json.dumps({**unet, "_class_name": "UNet2DConditionModel"}))
    assert not recognises(conditional)
    assert not recognises(ROOT / "pretrained" / "layout2im_shapes_synth")  # an imgtrans checkpoint


def test_colour_masks_are_read_as_bt601_luma(tmp_path):
    from imgtrans_sdedit.masks import read_mask

    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    colour[0, :2] = ((255, 255, 255), (0, 0, 0))
    mask = read_mask(_write(tmp_path / "colour.png", colour))
    pixels = colour.astype(np.float32) / 255
    luma = 0.299 * pixels[..., 0] + 0.587 * pixels[..., 1] + 0.114 * pixels[..., 2]
    assert mask.shape == (1, 1, 9, 11) and mask.dtype.is_floating_point
    assert np.allclose(mask[0, 0].numpy(), luma, rtol=0, atol=1e-6)
    assert mask[0, 0, 0, 0] == 1 and mask[0, 0, 0, 1] == 0  # white edits, black keeps, exactly
    alpha = np.dstack([colour, np.full((9, 11), 7, np.uint8)])
    assert np.array_equal(read_mask(_write(tmp_path / "rgba.png", alpha)).numpy(), mask.numpy())
    gray = colour[..., 1]
    assert np.array_equal(read_mask(_write(tmp_path / "gray.png", gray))[0, 0].numpy(),
                          gray.astype(np.float32) / 255)


# -- behaviour through the CLI ---------------------------------------------------------------

def test_strength_zero_is_the_identity(host, model_dir, tmp_path):
    src = _write(tmp_path / "in.png", _image(23, 37, seed=3))
    for strength in ("0", "0.05"):  # 0.05 * 10 steps rounds down to no step at all
        out = tmp_path / f"out{strength}.png"
        result = convert(src, out, model_dir, f"strength={strength}")
        assert result.exit_code == 0, result.output
        assert np.array_equal(_read(out), _read(src))


def test_seed_determinism(host, model_dir, tmp_path):
    src = _write(tmp_path / "in.png", _image())
    outs = {}
    for tag, seed in (("a", 1), ("b", 1), ("c", 2)):
        outs[tag] = tmp_path / f"{tag}.png"
        assert convert(src, outs[tag], model_dir, seed=seed).exit_code == 0
    assert np.array_equal(_read(outs["a"]), _read(outs["b"]))
    assert not np.array_equal(_read(outs["a"]), _read(outs["c"]))
    assert not np.array_equal(_read(outs["a"]), _read(src))


def test_distance_to_the_guide_grows_with_strength(host, model_dir, tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        _write(src / f"{i}.png", _image(seed=10 + i))
    distances = []
    for strength in (0.2, 0.5, 0.9):
        out = tmp_path / f"out{strength}"
        assert convert(src, out, model_dir, f"strength={strength}").exit_code == 0
        distances.append(np.mean([np.sqrt(np.mean((_read(out / f"{i}.png").astype(float)
                                                   - _read(src / f"{i}.png")) ** 2)) for i in range(3)]))
    assert distances[0] < distances[1] < distances[2], distances


def test_mask_keeps_the_outside_exactly(host, model_dir, tmp_path):
    image = _image(23, 37, seed=4)  # not the model's size: resized there and back
    src = _write(tmp_path / "in.png", image)
    mask = np.zeros((23, 37), np.uint8)
    mask[5:15, 10:30] = 255
    mask_file = _write(tmp_path / "mask.png", mask)
    out = tmp_path / "out.png"
    result = convert(src, out, model_dir, "strength=0.8", f"mask={mask_file}")
    assert result.exit_code == 0, result.output
    edited = _read(out)
    keep = mask == 0
    assert np.array_equal(edited[keep], image[keep])
    assert np.abs(edited[~keep].astype(int) - image[~keep]).mean() > 5


def test_mask_folder_matches_by_stem(host, model_dir, tmp_path):
    src = tmp_path / "in"
    a = _write(src / "a.png", _image(seed=5))
    b = _write(src / "sub" / "b.png", _image(seed=6))
    c = _write(src / "c.png", _image(seed=7))
    masks = tmp_path / "masks"
    half = np.zeros((SIZE, SIZE), np.uint8)
    half[:, SIZE // 2:] = 255
    _write(masks / "a.jpg", half)  # any image extension
    _write(masks / "sub" / "b.png", 255 - half)
    out = tmp_path / "out"
    result = convert(src, out, model_dir, "strength=0.8", f"mask={masks}", extra=("--batch-size", "4"))
    assert result.exit_code == 3, result.output  # c.png has no mask: that file fails, its batch-mates not
    assert "no mask" in result.output and "c.png" in result.output
    assert np.array_equal(_read(out / "a.png")[:, :SIZE // 2], _read(a)[:, :SIZE // 2])
    assert np.array_equal(_read(out / "sub" / "b.png")[:, SIZE // 2:], _read(b)[:, SIZE // 2:])
    assert not (out / "c.png").exists() and c.exists()


def test_repeats_differ_and_are_reproducible(host, model_dir, tmp_path):
    src = _write(tmp_path / "in.png", _image(seed=8))
    once, twice, again = (tmp_path / n for n in ("once.png", "twice.png", "again.png"))
    assert convert(src, once, model_dir, "repeats=1").exit_code == 0
    assert convert(src, twice, model_dir, "repeats=2").exit_code == 0
    assert convert(src, again, model_dir, "repeats=2").exit_code == 0
    assert not np.array_equal(_read(once), _read(twice))
    assert np.array_equal(_read(twice), _read(again))


@pytest.mark.parametrize("option, name", [("strength=1.5", "strength"), ("steps=0", "steps"),
                                          ("repeats=0", "repeats"), ("eta=2", "eta"),
                                          ("scheduler=euler", "scheduler"), ("steps=2000", "steps")])
def test_bad_options_are_usage_errors(host, model_dir, tmp_path, option, name):
    src = _write(tmp_path / "in.png", _image())
    result = convert(src, tmp_path / "out.png", model_dir, option)
    assert result.exit_code == 2, result.output
    assert name in result.output and "Traceback" not in result.output


def test_output_has_the_input_size(host, model_dir, tmp_path):
    src = _write(tmp_path / "in.png", _image(23, 37, seed=9))
    out = tmp_path / "out.png"
    assert convert(src, out, model_dir).exit_code == 0
    assert _read(out).shape == (23, 37, 3)
    assert not np.array_equal(_read(out), _read(src))


def test_batching_does_not_change_results(host, model_dir, tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        _write(src / f"{i}.png", _image(seed=20 + i))
    one, three = tmp_path / "b1", tmp_path / "b3"
    assert convert(src, one, model_dir, "eta=0.5", extra=("--batch-size", "1")).exit_code == 0
    assert convert(src, three, model_dir, "eta=0.5", extra=("--batch-size", "3")).exit_code == 0
    for i in range(3):
        assert np.array_equal(_read(one / f"{i}.png"), _read(three / f"{i}.png"))


def test_ddpm_scheduler(host, model_dir, tmp_path):
    src = _write(tmp_path / "in.png", _image(seed=11))
    ddpm, ddpm2, ddim = (tmp_path / n for n in ("ddpm.png", "ddpm2.png", "ddim.png"))
    assert convert(src, ddpm, model_dir, "scheduler=ddpm").exit_code == 0
    assert convert(src, ddpm2, model_dir, "scheduler=ddpm").exit_code == 0
    assert convert(src, ddim, model_dir, "scheduler=ddim").exit_code == 0
    assert np.array_equal(_read(ddpm), _read(ddpm2))
    assert not np.array_equal(_read(ddpm), _read(ddim))
    assert not np.array_equal(_read(ddpm), _read(src))


# -- registry: Hub model folders -------------------------------------------------------------

def test_registry_names_hub_folders(host):
    from imgtrans.weights.registry import load_registry

    specs = {s.tag: s for s in load_registry() if s.plugin == "sdedit" and s.repo}
    assert {"ddpm_church_256", "ddpm_ema_church_256", "ddpm_cifar10_32", "ddpm_celebahq_256",
            "ddpm_bedroom_256", "ddpm_cat_256"} <= set(specs)
    # the latent (Stable Diffusion) entries carry their model cards' licences; SD 1.5 and 2.1
    # are community mirrors of withdrawn repos, still answering to the original ids
    latent = {"stable_diffusion_v1_5": ("CreativeML-OpenRAIL-M", "runwayml/stable-diffusion-v1-5"),
              "stable_diffusion_2_1_base": ("CreativeML-OpenRAIL++-M",
                                            "stabilityai/stable-diffusion-2-1-base"),
              "sdxl_turbo": ("SAI-NC-Community (non-commercial)", "stabilityai/sdxl-turbo")}
    assert set(latent) <= set(specs)
    for tag, spec in specs.items():
        assert spec.source == f"https://huggingface.co/{spec.repo}"
        licence, alias = latent.get(tag, ("Apache-2.0", spec.repo))
        assert spec.license == licence and alias in spec.aliases
        assert "non-commercial" in spec.description.lower() or "NC" not in licence
        # Stable Diffusion 2.1 base is the sdedit default (issue 24; bundled facades_synth offline)
        assert spec.default == (tag == "stable_diffusion_2_1_base") and spec.url is None and spec.file is None
        assert (spec.fallback == "sdedit.facades_synth") == spec.default
        assert spec.repo.replace("-", "_").endswith(tag)


def test_hub_name_explains_how_to_get_the_folder(host, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    src = _write(tmp_path / "in.png", _image())
    result = convert(src, tmp_path / "out.png", "sdedit.ddpm_church_256")
    assert result.exit_code == 5, result.output
    text = " ".join(result.output.split())
    assert "google/ddpm-church-256" in text and "--local-dir DIR" in text and "--weights DIR" in text


def test_hub_name_uses_a_copy_in_the_hf_cache(host, model_dir, tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache = tmp_path / "hf-cache"
    repo = cache / "models--google--ddpm-church-256"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    shutil.copy(model_dir / "model_index.json", snapshot)
    for part in ("unet", "scheduler"):  # flat, as the Hub repository is
        for f in (model_dir / part).iterdir():
            shutil.copy(f, snapshot / f.name)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    src = _write(tmp_path / "in.png", _image())
    from_cache, from_folder = tmp_path / "cache.png", tmp_path / "folder.png"
    result = convert(src, from_cache, "sdedit.ddpm_church_256")
    assert result.exit_code == 0, result.output
    assert convert(src, from_folder, model_dir).exit_code == 0
    assert np.array_equal(_read(from_cache), _read(from_folder))


# -- samples and training ----------------------------------------------------------------------

def test_several_samples_per_input(host, model_dir, tmp_path):
    src = _write(tmp_path / "in" / "a.png", _image())
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in"), str(tmp_path / "out"), "--plugin", "sdedit",
                                      "--weights", str(model_dir), "--opt", "samples=3", "--opt", "steps=10",
                                      "--seed", "4"])
    assert result.exit_code == 0, result.output
    outs = [_read(tmp_path / "out" / f"a_s{k}.png") for k in range(3)]
    assert all(o.shape == _read(src).shape for o in outs)
    assert not np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[1], outs[2])


def test_training_lowers_the_loss_and_saves_a_diffusers_folder(host, tmp_path):
    from diffusers import DDPMPipeline

    import imgtrans

    data = tmp_path / "data"
    for i in range(8):
        _write(data / f"{i}.png", _image(seed=i))
    losses = []
    options = {"sample_size": 16, "channels": "16,16", "n_epochs": 20, "lr": 1e-3}
    last = imgtrans.train("sdedit", data, tmp_path / "run", options=options, batch_size=4, max_steps=30,
                          on_progress=lambda p: losses.append(p.losses["mse"]))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])
    pipe = DDPMPipeline.from_pretrained(str(last / "diffusers"), local_files_only=True)
    assert pipe.unet.config.sample_size == 16
    from imgtrans.checkpoints import read_checkpoint

    checkpoint = read_checkpoint(tmp_path / "run", "sdedit")
    assert checkpoint.path == last and checkpoint.format_version == 2 and checkpoint.step == 30
    assert sorted(checkpoint.networks) == ["ema", "unet"] and checkpoint.options["channels"] == "16,16"
    src = _write(tmp_path / "in.png", _image())
    result = CliRunner().invoke(app, ["convert", str(src), str(tmp_path / "out.png"), "--plugin", "sdedit",
                                      "--weights", str(tmp_path / "run"), "--opt", "steps=10"])
    assert result.exit_code == 0, result.output
    assert _read(tmp_path / "out.png").shape == _read(src).shape
    result = CliRunner().invoke(app, ["convert", str(src), str(tmp_path / "out2.png"), "--plugin", "sdedit",
                                      "--weights", str(ROOT / "pretrained" / "layout2im_shapes_synth")])
    assert result.exit_code == 5 and "layout2im" in result.output, result.output
