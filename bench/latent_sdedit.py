"""Latent SDEdit (Stable Diffusion img2img): imgtrans against diffusers'
StableDiffusionImg2ImgPipeline, side by side, on the same model and the same noise.

    python bench/latent_sdedit.py                       # 4 images 128x128, 10 steps, strength 0.6
    python bench/latent_sdedit.py --images 8 --size 192 --repeats 3

Model: a small Stable Diffusion folder built here with random weights (no download), the
layout of SD 1.x at reduced width: UNet2DConditionModel (64, 128, 256), two layers per
block, cross-attention in the two upper levels; an AutoencoderKL with four levels (factor
8, as SD's); a 4-layer CLIP text encoder of width 256; the DDIM scheduler config of SD 1.x.
Small enough for a loaded 2-core CPU, large enough that the UNet dominates.

Reference: ``pipe(prompt, image=..., strength, num_inference_steps, guidance_scale,
generator=torch.Generator().manual_seed(image_seed(SEED, name)))`` called once per image,
in a loop, as a script would (the pipeline loaded once, outside the timing).
imgtrans: ``imgtrans.convert`` of the same files with the same options, batch size 1 and
batch size = ``--images`` (one batch; the text is encoded once per batch), the translator
loaded inside the timing (load time printed). Each image's generator is seeded the same on
both sides, so the outputs differ by arithmetic only (printed in 8-bit levels).

Printed: images/s of each side (best of ``--repeats`` alternating rounds), the ratios, the
output difference, and the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

import imgtrans
from imgtrans.core.runner import image_seed

SEED = 0
PROMPT, NEGATIVE = "a watercolour landscape", "blurry"


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def make_model(folder: Path) -> Path:
    """A small SD 1.x-layout pipeline folder with random weights (save_pretrained)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(64, 128, 256), layers_per_block=2, sample_size=32,
                                in_channels=4, out_channels=4, cross_attention_dim=256, attention_head_dim=8,
                                down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"))
    vae = AutoencoderKL(block_out_channels=[32, 64, 128, 128], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        layers_per_block=1, sample_size=256)
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    symbols = [chr(c) for c in cs]
    vocab = {t: i for i, t in enumerate(symbols + [s + "</w>" for s in symbols]
                                         + ["<|startoftext|>", "<|endoftext|>"])}
    words = folder / "vocabulary"
    words.mkdir(parents=True)
    (words / "vocab.json").write_text(json.dumps(vocab))
    (words / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(words / "vocab.json"), str(words / "merges.txt"), model_max_length=77)
    text = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=256, intermediate_size=512,
                                        num_attention_heads=4, num_hidden_layers=4, pad_token_id=1,
                                        vocab_size=len(vocab)))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder / "small-sd")
    return folder / "small-sd"


def write_inputs(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for i in range(count):
        rgb = np.stack([127 + 100 * np.sin(xx / (9 + c + i) + yy / (13 - c)) for c in range(3)], -1)
        paths.append(folder / f"{i}.png")
        cv2.imwrite(str(paths[-1]), np.clip(rgb, 0, 255).astype(np.uint8))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--strength", type=float, default=0.6)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from diffusers import StableDiffusionImg2ImgPipeline
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    work = Path(tempfile.mkdtemp(prefix="latent-sdedit-bench-"))
    model = make_model(work)
    inputs = write_inputs(work / "in", args.images, args.size)
    params = sum(p.numel() for p in __import__("diffusers").UNet2DConditionModel.from_pretrained(
        model / "unet").parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {load_average()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}")
    run_steps = int(args.steps * args.strength)
    print(f"latent SDEdit: {args.images} images {args.size}x{args.size}, UNet {params / 1e6:.1f} M params, "
          f"DDIM {args.steps} steps at strength {args.strength} ({run_steps} run), guidance "
          f"{args.guidance} (2 UNet rows per image); best of {args.repeats} alternating rounds")

    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(model, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    options = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "steps": str(args.steps),
               "strength": str(args.strength), "guidance_scale": str(args.guidance)}

    def reference(out: Path) -> float:
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        for path in inputs:
            image = torch.from_numpy(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)).permute(2, 0, 1)
            result = pipe(PROMPT, image=image[None].float() / 255, strength=args.strength,
                          num_inference_steps=args.steps, guidance_scale=args.guidance,
                          negative_prompt=NEGATIVE, output_type="np",
                          generator=torch.Generator().manual_seed(image_seed(SEED, path.name))).images[0]
            cv2.imwrite(str(out / path.name), cv2.cvtColor((result * 255).round().astype(np.uint8),
                                                           cv2.COLOR_RGB2BGR))
        return time.perf_counter() - start

    def ours(out: Path, batch: int) -> float:
        start = time.perf_counter()
        report = imgtrans.convert(str(work / "in"), str(out), weights=str(model), options=options,
                                  batch_size=batch, seed=SEED, overwrite=True, device="cpu")
        assert not report.count("failed"), [i for i in report.items if i.status == "failed"]
        return time.perf_counter() - start

    sides = {"reference pipeline loop": lambda: reference(work / "ref"),
             "imgtrans convert, batch 1": lambda: ours(work / "b1", 1),
             f"imgtrans convert, batch {args.images}": lambda: ours(work / "bn", args.images)}
    times: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(args.repeats):
        for label, side in sides.items():
            times[label].append(side())
    best = {k: min(v) for k, v in times.items()}
    ref = best["reference pipeline loop"]
    for label, seconds in best.items():
        ratio = "" if label.startswith("reference") else f"   ({ref / seconds:.2f}x the reference)"
        print(f"{label:<30} {args.images / seconds:6.3f} images/s   wall {seconds:7.2f} s{ratio}")
    for tag in ("b1", "bn"):
        diffs = [np.abs(cv2.imread(str(work / tag / p.name)).astype(int) - cv2.imread(str(work / "ref" / p.name)))
                 for p in inputs]
        stacked = np.stack(diffs)
        print(f"difference {tag} vs reference      mean {stacked.mean():.3f}   max {stacked.max()}   (8-bit levels)")
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    sys.exit(main())
