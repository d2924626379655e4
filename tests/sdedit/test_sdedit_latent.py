"""sdedit on Stable Diffusion folders (issue 22), with a tiny random-weight pipeline built
here from small configs and a tokenizer vocabulary written by the test (no download): the
folder is recognised without --plugin, the result equals diffusers'
StableDiffusionImg2ImgPipeline, masks keep pixels exactly, any size, seeds, batching,
samples, per-file prompts and the clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from imgtrans.cli import app

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FAST = ("--opt", "steps=4", "--opt", "strength=0.5", "--opt", "guidance_scale=3")


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's byte-level alphabet (GPT-2's table)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def make_tiny_sd(folder: Path) -> Path:
    """A StableDiffusionPipeline folder with random weights (save_pretrained)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=16,
                                in_channels=4, out_channels=4, cross_attention_dim=32,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
    symbols = list(_bytes_to_unicode().values())
    vocab = {t: i for i, t in enumerate(symbols + [s + "</w>" for s in symbols]
                                         + ["<|startoftext|>", "<|endoftext|>"])}
    words = folder / "vocabulary"
    words.mkdir(parents=True)
    (words / "vocab.json").write_text(json.dumps(vocab))
    (words / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(words / "vocab.json"), str(words / "merges.txt"), model_max_length=77)
    text = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37,
                                        num_attention_heads=4, num_hidden_layers=2, pad_token_id=1,
                                        vocab_size=len(vocab)))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder / "tiny-sd")
    return folder / "tiny-sd"


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory) -> Path:
    return make_tiny_sd(tmp_path_factory.mktemp("sd"))


def _image(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = [127 + 100 * np.sin(xx / (3 + c) + yy / (5 - c) + seed) for c in range(3)]
    return np.clip(np.stack(rgb, -1) + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.ndim == 3 else array)
    return path


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def convert(src, out, weights, *opts, seed=1, extra=()):
    return CliRunner().invoke(app, ["convert", str(src), str(out), "--weights", str(weights), *FAST,
                                    *[x for o in opts for x in ("--opt", o)], "--seed", str(seed),
                                    "--progress", "none", *extra])


# -- recognising folders -----------------------------------------------------------------------

def test_sd_folder_is_recognised_by_its_json(sd_dir, tmp_path):
    from imgtrans_sdedit.latent_folders import LatentLayout
    from imgtrans_sdedit.translator import SDEditTranslator

    found = SDEditTranslator.recognises_folder(sd_dir)
    assert isinstance(found, LatentLayout) and found.family == "sd"
    assert found.pipeline == "StableDiffusionPipeline" and found.text_encoders == ("text_encoder",)
    inpaint = tmp_path / "inpaint"
    shutil.copytree(sd_dir, inpaint)
    config = json.loads((inpaint / "unet" / "config.json").read_text())
    (inpaint / "unet" / "config.json").write_text(json.dumps({**config, "in_channels": 9}))
    from imgtrans.errors import WeightsError

    with pytest.raises(WeightsError, match="inpainting"):
        SDEditTranslator.recognises_folder(inpaint)
    broken = tmp_path / "no-vae"
    shutil.copytree(sd_dir, broken)
    shutil.rmtree(broken / "vae")
    with pytest.raises(WeightsError, match="vae/config.json"):
        SDEditTranslator.recognises_folder(broken)


def test_bad_sd_folders_are_one_line_weights_errors(host, sd_dir, tmp_path):
    src = _write(tmp_path / "in.png", _image(16, 16, 0))
    inpaint = tmp_path / "inpaint"
    shutil.copytree(sd_dir, inpaint)
    index = json.loads((inpaint / "model_index.json").read_text())
    (inpaint / "model_index.json").write_text(json.dumps({**index, "_class_name": "StableDiffusionInpaintPipeline"}))
    result = convert(src, tmp_path / "out.png", inpaint)
    assert result.exit_code == 5 and "inpainting model" in result.output, result.output
    assert "Traceback" not in result.output


# -- the algorithm: equal to diffusers' pipeline -------------------------------------------------

@pytest.mark.parametrize("guidance", [1.0, 4.0])
def test_equals_diffusers_img2img(sd_dir, guidance):
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline

    from imgtrans.plugin import TranslateContext, weights_at
    from imgtrans.translators.options import build_options
    from imgtrans_sdedit.translator import SDEditTranslator

    torch.manual_seed(3)
    images = torch.rand(2, 3, 32, 40)
    prompts, negative = ["a red cat", "a blue hill"], "blurry"
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(sd_dir, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    reference = pipe(prompts, image=images, strength=0.6, num_inference_steps=5, guidance_scale=guidance,
                     negative_prompt=[negative] * 2, output_type="pt",
                     generator=[torch.Generator().manual_seed(s) for s in (1, 2)]).images
    table = Path(sd_dir).parent / "prompts.json"
    table.write_text(json.dumps({"a.png": prompts[0], "b": prompts[1]}))
    options = build_options(SDEditTranslator.Options, {
        "strength": "0.6", "steps": "5", "guidance_scale": str(guidance), "negative_prompt": negative,
        "prompts": str(table)})
    translator = SDEditTranslator.load(weights_at(sd_dir), options, torch.device("cpu"))
    context = TranslateContext(torch.device("cpu"), names=["a.png", "b.png"],
                               generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    ours = translator.translate(images * 2 - 1, context) / 2 + 0.5
    assert ours.shape == reference.shape
    assert (ours - reference).abs().max() <= 1e-5


# -- through the CLI, without --plugin ------------------------------------------------------------

def test_cli_any_size_seeds_and_batching(host, sd_dir, tmp_path):
    src = tmp_path / "in"
    for i, (h, w) in enumerate(((27, 35), (16, 16), (20, 13))):  # not multiples of 8
        _write(src / f"{i}.png", _image(h, w, i))
    outs = {}
    for tag, seed, batch in (("a", 1, 1), ("b", 1, 3), ("c", 2, 3)):
        outs[tag] = tmp_path / tag
        result = convert(src, outs[tag], sd_dir, "prompt=a lake", seed=seed, extra=("--batch-size", str(batch)))
        assert result.exit_code == 0, result.output
    for i in range(3):
        a, b, c = (_read(outs[t] / f"{i}.png") for t in "abc")
        guide = _read(src / f"{i}.png")
        assert a.shape == guide.shape
        assert np.abs(a.astype(int) - b).max() <= 1  # batching: float rounding only
        assert not np.array_equal(a, c) and not np.array_equal(a, guide)


def test_strength_zero_returns_the_input(host, sd_dir, tmp_path):
    src = _write(tmp_path / "in.png", _image(19, 22, 5))
    result = convert(src, tmp_path / "out.png", sd_dir, "strength=0")
    assert result.exit_code == 0, result.output
    assert np.array_equal(_read(tmp_path / "out.png"), _read(src))


def test_mask_keeps_pixels_exactly(host, sd_dir, tmp_path):
    image = _image(21, 30, 6)
    src = _write(tmp_path / "in.png", image)
    mask = np.zeros((21, 30), np.uint8)
    mask[4:15, 9:25] = 255
    result = convert(src, tmp_path / "out.png", sd_dir, "strength=1",
                     f"mask={_write(tmp_path / 'mask.png', mask)}")
    assert result.exit_code == 0, result.output
    edited = _read(tmp_path / "out.png")
    assert np.array_equal(edited[mask == 0], image[mask == 0])
    assert np.abs(edited[mask > 0].astype(int) - image[mask > 0]).mean() > 3


def test_samples_and_per_file_prompts(host, sd_dir, tmp_path):
    src = tmp_path / "in"
    for name in ("a", "b"):
        _write(src / f"{name}.png", _image(16, 16, 7))  # the same pixels
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "b.txt").write_text("a castle on a hill\n")
    out = tmp_path / "out"
    result = convert(src, out, sd_dir, "prompt=a lake", f"prompts={texts}", "samples=2")
    assert result.exit_code == 0, result.output
    a0, a1, b0 = (_read(out / f) for f in ("a_s0.png", "a_s1.png", "b_s0.png"))
    assert not np.array_equal(a0, a1)
    same = tmp_path / "same"  # b keeps its own prompt file; a's default prompt now matches it
    result = convert(src, same, sd_dir, "prompt=a castle on a hill", f"prompts={texts}", "samples=2")
    assert result.exit_code == 0, result.output
    assert not np.array_equal(_read(same / "a_s0.png"), a0)
    assert np.array_equal(_read(same / "b_s0.png"), b0)


def test_prompt_for_a_pixel_model_is_a_weights_error(host, tmp_path):
    from imgtrans_testenv import ROOT

    src = _write(tmp_path / "in.png", _image(16, 16, 0))
    result = convert(src, tmp_path / "out.png", ROOT / "pretrained" / "sdedit_facades_synth",
                     "prompt=a cat", extra=("--plugin", "sdedit"))
    assert result.exit_code == 5 and "takes no text" in result.output, result.output


# -- SDXL ----------------------------------------------------------------------------------------

def make_tiny_sdxl(folder: Path) -> Path:
    """A StableDiffusionXLImg2ImgPipeline folder with random weights (two text encoders)."""
    import torch
    from diffusers import (AutoencoderKL, DDIMScheduler, StableDiffusionXLImg2ImgPipeline,
                           UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    sd = make_tiny_sd(folder / "sd-parts")  # its tokenizer vocabulary
    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=16,
                                in_channels=4, out_channels=4, attention_head_dim=(2, 4),
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), use_linear_projection=True,
                                addition_embed_type="text_time", addition_time_embed_dim=8,
                                transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
                                cross_attention_dim=64)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
    tokenizer = CLIPTokenizer.from_pretrained(sd / "tokenizer", local_files_only=True)
    config = CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37,
                            num_attention_heads=4, num_hidden_layers=2, pad_token_id=1,
                            vocab_size=tokenizer.vocab_size + 2, projection_dim=32)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                              timestep_spacing="trailing")
    pipe = StableDiffusionXLImg2ImgPipeline(vae=vae, text_encoder=CLIPTextModel(config),
                                            text_encoder_2=CLIPTextModelWithProjection(config),
                                            tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet,
                                            scheduler=scheduler, requires_aesthetics_score=False,
                                            force_zeros_for_empty_prompt=True)
    pipe.save_pretrained(folder / "tiny-sdxl")
    return folder / "tiny-sdxl"


@pytest.fixture(scope="module")
def sdxl_dir(tmp_path_factory) -> Path:
    return make_tiny_sdxl(tmp_path_factory.mktemp("sdxl"))


@pytest.mark.parametrize("negative, guidance", [("", 3.0), ("blurry", 3.0), ("", 0.0)])
def test_sdxl_equals_diffusers_img2img(sdxl_dir, negative, guidance):
    import torch
    from diffusers import StableDiffusionXLImg2ImgPipeline

    from imgtrans.plugin import TranslateContext, weights_at
    from imgtrans.translators.options import build_options
    from imgtrans_sdedit.latent_folders import LatentLayout
    from imgtrans_sdedit.translator import SDEditTranslator

    assert isinstance(SDEditTranslator.recognises_folder(sdxl_dir), LatentLayout)
    torch.manual_seed(4)
    images = torch.rand(2, 3, 24, 32)
    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(sdxl_dir, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    reference = pipe(["a red cat"] * 2, image=images, strength=0.5, num_inference_steps=4,
                     guidance_scale=guidance, negative_prompt=[negative] * 2 if negative else None,
                     output_type="pt", generator=[torch.Generator().manual_seed(s) for s in (1, 2)]).images
    options = build_options(SDEditTranslator.Options, {
        "strength": "0.5", "steps": "4", "guidance_scale": str(guidance), "negative_prompt": negative,
        "prompt": "a red cat"})
    translator = SDEditTranslator.load(weights_at(sdxl_dir), options, torch.device("cpu"))
    context = TranslateContext(torch.device("cpu"), names=["a.png", "b.png"],
                               generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    ours = translator.translate(images * 2 - 1, context) / 2 + 0.5
    assert (ours - reference).abs().max() <= 1e-5
