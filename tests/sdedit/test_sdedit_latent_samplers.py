"""sdedit runs the sampler a Stable Diffusion folder ships (scheduler=auto/folder): equal to
diffusers' StableDiffusionImg2ImgPipeline loaded from the same folder, for the samplers
the turbo, LCM and classic releases name; tiny random-weight folders built offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_sdedit_latent import make_tiny_sd

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BASE = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000, "steps_offset": 1}


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory) -> Path:
    return make_tiny_sd(tmp_path_factory.mktemp("sd"))


def _with_scheduler(sd_dir: Path, where: Path, name: str, **config) -> Path:
    """A copy of ``sd_dir`` that ships the sampler ``name`` (model_index.json, scheduler/)."""
    import diffusers

    folder = where / name
    shutil.copytree(sd_dir, folder)
    getattr(diffusers, name).from_config({**BASE, **config}).save_config(folder / "scheduler")
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "scheduler": ["diffusers", name]}))
    return folder


def _lcm_unet(folder: Path) -> None:
    """Replace the folder's UNet by one with a guidance embedding (LCM distillations')."""
    import torch
    from diffusers import UNet2DConditionModel

    config = json.loads((folder / "unet" / "config.json").read_text())
    shutil.rmtree(folder / "unet")
    torch.manual_seed(1)
    keep = {k: v for k, v in config.items() if not k.startswith("_")}
    UNet2DConditionModel.from_config({**keep, "time_cond_proj_dim": 32}).save_pretrained(folder / "unet")


def _ours_and_reference(folder: Path, *, strength: float, steps: int, guidance: float,
                        scheduler: str = "auto", repeats: int = 1):
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline

    from imgtrans.plugin import TranslateContext, weights_at
    from imgtrans.translators.options import build_options
    from imgtrans_sdedit.translator import SDEditTranslator

    torch.manual_seed(5)
    images = torch.rand(2, 3, 24, 32)
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    reference = pipe(["a red cat", "a blue hill"], image=images, strength=strength,
                     num_inference_steps=steps, guidance_scale=guidance, output_type="pt",
                     generator=[torch.Generator().manual_seed(s) for s in (1, 2)]).images
    options = build_options(SDEditTranslator.Options, {
        "strength": str(strength), "steps": str(steps), "guidance_scale": str(guidance),
        "prompt": "a red cat", "scheduler": scheduler, "repeats": str(repeats)})
    translator = SDEditTranslator.load(weights_at(folder), options, torch.device("cpu"))
    translator.prompts.table = {"b.png": "a blue hill"}
    context = TranslateContext(torch.device("cpu"), names=["a.png", "b.png"],
                               generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    ours = translator.translate(images * 2 - 1, context) / 2 + 0.5
    return ours, reference, translator


@pytest.mark.parametrize("name, config, steps, strength, guidance", [
    # SD-Turbo / SDXL-Turbo: Euler Ancestral, trailing spacing, 2 steps at strength 0.5, no CFG
    ("EulerAncestralDiscreteScheduler", {"timestep_spacing": "trailing"}, 2, 0.5, 0.0),
    ("EulerDiscreteScheduler", {}, 5, 0.6, 3.0),
    ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}, 6, 0.7, 3.0),
    ("PNDMScheduler", {"skip_prk_steps": True}, 5, 0.6, 3.0),  # the SD 1.x releases'
    ("LMSDiscreteScheduler", {}, 5, 0.6, 1.0),
    ("LCMScheduler", {}, 4, 0.5, 1.0),
])
def test_folder_sampler_equals_diffusers_img2img(sd_dir, tmp_path, name, config, steps, strength,
                                                 guidance):
    folder = _with_scheduler(sd_dir, tmp_path, name, **config)
    ours, reference, translator = _ours_and_reference(folder, strength=strength, steps=steps,
                                                      guidance=guidance)
    assert translator.config()["sampler"] == name
    assert ours.shape == reference.shape
    assert (ours - reference).abs().max() <= 1e-5


def test_lcm_unet_with_guidance_embedding(sd_dir, tmp_path):
    folder = _with_scheduler(sd_dir, tmp_path, "LCMScheduler")
    _lcm_unet(folder)
    ours, reference, _ = _ours_and_reference(folder, strength=0.6, steps=4, guidance=8.0)
    assert (ours - reference).abs().max() <= 1e-5


def test_ddim_still_chosen_by_name(sd_dir, tmp_path):
    """scheduler=ddim on a turbo-style folder builds DDIM from its beta schedule, so it
    differs from the folder's own Euler Ancestral; repeats start each repeat afresh."""
    import torch

    folder = _with_scheduler(sd_dir, tmp_path, "EulerAncestralDiscreteScheduler",
                             timestep_spacing="trailing")
    ddim, _, translator = _ours_and_reference(folder, strength=0.5, steps=4, guidance=0.0,
                                              scheduler="ddim")
    assert translator.config()["sampler"] == "DDIMScheduler"
    own, reference, _ = _ours_and_reference(folder, strength=0.5, steps=4, guidance=0.0)
    assert (own - reference).abs().max() <= 1e-5 and (ddim - reference).abs().max() > 1e-3
    twice, _, _ = _ours_and_reference(folder, strength=0.5, steps=4, guidance=0.0, repeats=2)
    assert torch.isfinite(twice).all() and (twice - own).abs().max() > 1e-4


@pytest.mark.parametrize("option, message", [
    ({"eta": "0.5"}, "eta applies"),
    ({"scheduler": "folder", "prompt": ""}, None),
])
def test_folder_sampler_option_checks(sd_dir, tmp_path, option, message):
    import torch

    from imgtrans.errors import UsageError
    from imgtrans.plugin import weights_at
    from imgtrans.translators.options import build_options
    from imgtrans_sdedit.translator import SDEditTranslator

    folder = _with_scheduler(sd_dir, tmp_path, "EulerAncestralDiscreteScheduler")
    options = build_options(SDEditTranslator.Options, {"steps": "4", **option})
    if message is None:
        SDEditTranslator.load(weights_at(folder), options, torch.device("cpu"))
        return
    with pytest.raises(UsageError, match=message):
        SDEditTranslator.load(weights_at(folder), options, torch.device("cpu"))


def test_unknown_folder_sampler(sd_dir, tmp_path):
    from imgtrans.errors import UsageError
    from imgtrans_sdedit.samplers import resolve_sampler

    assert resolve_sampler("auto", "DDIMInverseScheduler", True, 0.0, "x") == "ddim"
    with pytest.raises(UsageError, match="DDIMInverseScheduler"):
        resolve_sampler("folder", "DDIMInverseScheduler", True, 0.0, "x")
    with pytest.raises(UsageError, match="pixel-space"):
        resolve_sampler("folder", None, False, 0.0, "x")
    assert resolve_sampler("auto", None, False, 0.5, "x") == "ddim"
    assert resolve_sampler("auto", "DDIMScheduler", True, 0.5, "x") == "folder"


# -- single-file checkpoints (original layout): refused with the conversion command ---------------

@pytest.mark.parametrize("text_key, in_channels, expected", [
    ("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", 4,
     "single-file SD 1.x checkpoint"),
    ("cond_stage_model.model.token_embedding.weight", 4, "single-file SD 2.x checkpoint"),
    ("conditioner.embedders.1.model.token_embedding.weight", 4, "single-file SDXL checkpoint"),
    ("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", 9, "inpainting"),
])
def test_single_file_checkpoints_are_refused_clearly(host, tmp_path, text_key, in_channels, expected):
    import numpy as np
    from safetensors.numpy import save_file
    from typer.testing import CliRunner

    from imgtrans.cli import app

    path = tmp_path / "model.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": np.zeros((8, in_channels, 3, 3), np.float32),
               "first_stage_model.encoder.conv_in.weight": np.zeros((8, 3, 3, 3), np.float32),
               text_key: np.zeros((4, 8), np.float32)}, str(path))
    import cv2

    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((16, 16, 3), np.uint8))
    for extra in ((), ("--plugin", "sdedit")):
        result = CliRunner().invoke(app, ["convert", str(tmp_path / "in.png"), str(tmp_path / "out.png"),
                                          "--weights", str(path), "--progress", "none", *extra])
        assert result.exit_code == 5, result.output
        text = " ".join(result.output.split())
        assert expected in text and "Traceback" not in text
        if in_channels == 4:
            assert "from_single_file" in text and "--weights DIR" in text


# -- VAE tiling for large images ----------------------------------------------------------------

def test_vae_tiling_equals_diffusers_enable_vae_tiling(sd_dir):
    """vae_tiling=on is diffusers' enable_vae_tiling: equal to the pipeline with it, and
    (the tiny VAE tiles above 32 px) not the untiled result."""
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline

    from imgtrans.plugin import TranslateContext, weights_at
    from imgtrans.translators.options import build_options
    from imgtrans_sdedit.translator import SDEditTranslator

    torch.manual_seed(6)
    images = torch.rand(1, 3, 48, 72)
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(sd_dir, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    pipe.vae.enable_tiling()
    reference = pipe("a lake", image=images, strength=0.5, num_inference_steps=4, guidance_scale=1.0,
                     output_type="pt", generator=[torch.Generator().manual_seed(1)]).images
    results = {}
    for tiling in ("on", "auto"):  # auto: tiles only above 1024 px
        options = build_options(SDEditTranslator.Options, {
            "strength": "0.5", "steps": "4", "guidance_scale": "1", "prompt": "a lake",
            "vae_tiling": tiling})
        translator = SDEditTranslator.load(weights_at(sd_dir), options, torch.device("cpu"))
        context = TranslateContext(torch.device("cpu"), names=["a.png"],
                                   generators=[torch.Generator().manual_seed(1)])
        results[tiling] = translator.translate(images * 2 - 1, context) / 2 + 0.5
        assert translator.model.vae.use_tiling is False  # only while encoding and decoding
    assert (results["on"] - reference).abs().max() <= 1e-5
    assert (results["auto"] - reference).abs().max() > 1e-4
