"""Stable Diffusion model folders (diffusers layout): where their parts are and whether
sdedit can run image-to-image with them.

Only file names and JSON are read here (no torch, no diffusers, no transformers), so the
translator recognises such a folder cheaply. The folder is what ``save_pretrained`` of a
Stable Diffusion pipeline writes (and what the Hub repositories hold): ``model_index.json``
naming the pipeline class, then ``unet/``, ``vae/``, ``scheduler/``, and for text-conditioned
models ``text_encoder/`` + ``tokenizer/`` (SDXL also ``text_encoder_2/`` + ``tokenizer_2/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from imgtrans.plugin import WeightsError
from imgtrans_sdedit.folders import _BETA_SCHEDULERS, read_json

# Pipelines whose UNet denoises 4-channel VAE latents conditioned on CLIP text: the
# img2img of each is SDEdit (diffusers' StableDiffusionImg2ImgPipeline cites it).
SD_PIPELINES = frozenset({
    "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline",
    "LatentConsistencyModelPipeline", "LatentConsistencyModelImg2ImgPipeline",
    "AutoPipelineForText2Image", "AutoPipelineForImage2Image",
})
SDXL_PIPELINES = frozenset({"StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline"})
# Pipelines that look like Stable Diffusion but are not plain image-to-image models.
_REFUSED = {
    "StableDiffusionInpaintPipeline": "an inpainting model (its UNet takes 9 channels: latents, "
                                      "mask and masked image)",
    "StableDiffusionXLInpaintPipeline": "an inpainting model (its UNet takes 9 channels)",
    "StableDiffusionDepth2ImgPipeline": "a depth-conditioned model (its UNet takes 5 channels)",
    "StableDiffusionUpscalePipeline": "an upscaler (its UNet takes the low-resolution image)",
    "StableDiffusionInstructPix2PixPipeline": "an InstructPix2Pix model (its UNet takes 8 channels)",
}
_SCHEDULERS = _BETA_SCHEDULERS | {"LCMScheduler", "TCDScheduler"}
_DIFFUSERS_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin",
                      "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.fp16.bin")
_TRANSFORMERS_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.fp16.safetensors",
                         "pytorch_model.fp16.bin")
_TOKENIZER_FILES = (("vocab.json", "merges.txt"), ("tokenizer.json",))
LATENT_LAYOUT = ("model_index.json naming a Stable Diffusion pipeline, unet/ and vae/ (config.json + "
                 "diffusion_pytorch_model.safetensors), scheduler/scheduler_config.json, text_encoder/ "
                 "(config.json + model.safetensors) and tokenizer/ (what StableDiffusionPipeline."
                 "save_pretrained writes; SDXL adds text_encoder_2/ and tokenizer_2/)")


@dataclass
class LatentLayout:
    """Where the parts of a Stable Diffusion folder are, and its parsed configurations (read
    once, while recognising the folder, and used again to build the model)."""

    folder: Path
    pipeline: str
    family: Literal["sd", "sdxl"]
    weights: dict[str, Path]  # unet, vae, text_encoder[, text_encoder_2] -> weights file
    tokenizers: tuple[str, ...]  # subfolders: ("tokenizer",) or ("tokenizer", "tokenizer_2")
    unet_config: dict[str, Any]
    vae_config: dict[str, Any]
    scheduler_config: dict[str, Any]
    index: dict[str, Any] = field(default_factory=dict)

    @property
    def scheduler_class(self) -> str | None:
        """The scheduler class diffusers' pipelines build for this folder: the one
        ``model_index.json`` names, else the one ``scheduler_config.json`` names."""
        entry = self.index.get("scheduler")
        if isinstance(entry, list) and len(entry) == 2 and entry[1]:
            return str(entry[1])
        return self.scheduler_config.get("_class_name")

    @property
    def text_encoders(self) -> tuple[str, ...]:
        return tuple(n for n in ("text_encoder", "text_encoder_2") if n in self.weights)

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "pipeline": self.pipeline, "family": self.family,
                "latent_channels": self.vae_config.get("latent_channels", 4),
                "scheduler": self.scheduler_class,
                "text_encoders": list(self.text_encoders)}


def _names_pipeline(folder: Path) -> dict[str, Any] | None:
    """The parsed ``model_index.json`` when it names a Stable Diffusion-like pipeline (one
    with a ``vae`` and a ``unet``), else None."""
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        return None
    index = read_json(index_file)
    pipeline = str(index.get("_class_name", ""))
    if pipeline in SD_PIPELINES | SDXL_PIPELINES or pipeline in _REFUSED:
        return index
    if "vae" in index and "unet" in index and "text_encoder" in index:
        return index  # another text-to-image pipeline: refused with a reason below
    return None


def is_latent_folder(folder: Path) -> bool:
    """True when ``folder`` claims to be a Stable Diffusion folder (its ``model_index.json``
    names one); it may still be unusable (see :func:`inspect_latent_folder`). Never raises."""
    try:
        return Path(folder).is_dir() and _names_pipeline(Path(folder)) is not None
    except Exception:
        return False


def recognise_latent_folder(folder: Path) -> LatentLayout | None:
    """The layout of a Stable Diffusion folder sdedit runs, None for any other folder; a
    folder that names a Stable Diffusion pipeline sdedit cannot run raises ``WeightsError``
    saying why (identification adds it to its error)."""
    return inspect_latent_folder(folder) if is_latent_folder(folder) else None


def _weights_file(part: Path, names: tuple[str, ...]) -> Path | None:
    return next((part / n for n in names if (part / n).is_file()), None)


def inspect_latent_folder(folder: Path) -> LatentLayout:
    """Check a Stable Diffusion folder and say where its parts are. Raises ``WeightsError``
    naming the missing files, or what makes the pipeline unusable for image-to-image."""
    folder = Path(folder)
    index = _names_pipeline(folder) if folder.is_dir() else None
    if index is None:
        raise WeightsError(f"{folder} is not a Stable Diffusion folder: expected {LATENT_LAYOUT}")
    pipeline = str(index.get("_class_name", "?"))
    if pipeline in _REFUSED:
        raise WeightsError(f"{folder}: {pipeline} is {_REFUSED[pipeline]}, not an image-to-image "
                           "model; sdedit runs the base model (edit regions with mask=)")
    if "controlnet" in index:
        raise WeightsError(f"{folder}: {pipeline} has a ControlNet; sdedit runs plain Stable "
                           "Diffusion image-to-image models")
    if pipeline not in SD_PIPELINES | SDXL_PIPELINES:
        raise WeightsError(f"{folder}: {pipeline} is not a Stable Diffusion pipeline sdedit runs "
                           f"({', '.join(sorted(SD_PIPELINES | SDXL_PIPELINES))})")
    sdxl = pipeline in SDXL_PIPELINES or "text_encoder_2" in index
    encoders = ("text_encoder", "text_encoder_2") if sdxl else ("text_encoder",)
    tokenizers = ("tokenizer", "tokenizer_2") if sdxl else ("tokenizer",)

    def listed(name: str) -> bool:  # model_index.json says [null, null] for a left-out part
        entry = index.get(name)
        return isinstance(entry, list) and len(entry) == 2 and entry[0] is not None

    missing: list[str] = []
    weights: dict[str, Path] = {}
    for part, names in (("unet", _DIFFUSERS_WEIGHTS), ("vae", _DIFFUSERS_WEIGHTS),
                        *((e, _TRANSFORMERS_WEIGHTS) for e in encoders if listed(e))):
        if not (folder / part / "config.json").is_file():
            missing.append(f"{part}/config.json")
        found = _weights_file(folder / part, names)
        if found is None:
            missing.append(f"{part}/{names[0]} (or .bin)")
        else:
            weights[part] = found
    used_tokenizers = tuple(t for t in tokenizers if listed(t))
    for tokenizer in used_tokenizers:
        if not any(all((folder / tokenizer / f).is_file() for f in files) for files in _TOKENIZER_FILES):
            missing.append(f"{tokenizer}/vocab.json + merges.txt (or tokenizer.json)")
    if not (folder / "scheduler" / "scheduler_config.json").is_file():
        missing.append("scheduler/scheduler_config.json")
    if missing:
        raise WeightsError(f"{folder}: the {pipeline} folder lacks {', '.join(missing)}; expected "
                           f"{LATENT_LAYOUT}")
    if len(used_tokenizers) != len([e for e in encoders if e in weights]):
        raise WeightsError(f"{folder}: each text encoder needs its tokenizer (model_index.json lists "
                           f"{', '.join(e for e in encoders if e in weights) or 'none'} and "
                           f"{', '.join(used_tokenizers) or 'none'})")
    unet_config = read_json(folder / "unet" / "config.json")
    vae_config = read_json(folder / "vae" / "config.json")
    scheduler_config = read_json(folder / "scheduler" / "scheduler_config.json")
    unet_class = unet_config.get("_class_name", "UNet2DConditionModel")
    if unet_class != "UNet2DConditionModel":
        raise WeightsError(f"{folder}: the UNet is a {unet_class}; sdedit needs a "
                           "UNet2DConditionModel (Stable Diffusion)")
    latent = int(vae_config.get("latent_channels", 4))
    if int(unet_config.get("in_channels", 4)) != latent:
        raise WeightsError(f"{folder}: the UNet takes {unet_config.get('in_channels')} channels and "
                           f"the VAE makes {latent}: an inpainting or otherwise conditioned UNet, "
                           "not an image-to-image model; sdedit runs the base model (edit regions "
                           "with mask=)")
    if vae_config.get("_class_name", "AutoencoderKL") != "AutoencoderKL":
        raise WeightsError(f"{folder}: the VAE is a {vae_config.get('_class_name')}; sdedit needs "
                           "an AutoencoderKL")
    layout = LatentLayout(folder, pipeline, "sdxl" if sdxl else "sd", weights, used_tokenizers,
                          unet_config, vae_config, scheduler_config, index)
    scheduler = layout.scheduler_class
    if scheduler is not None and scheduler not in _SCHEDULERS:
        raise WeightsError(f"{folder}: the model's scheduler is a {scheduler}, which has no DDPM "
                           "beta schedule; sdedit needs a DDPM-family (VP) model")
    return layout


def latent_layout_of(weights: Any) -> LatentLayout | None:
    """The Stable Diffusion layout resolved weights stand for (the one identification found,
    or a folder whose ``model_index.json`` names a Stable Diffusion pipeline, checked now),
    else None (a pixel-space model folder, a checkpoint, a file)."""
    if isinstance(weights.found, LatentLayout):
        return weights.found
    if weights.kind == "folder" and is_latent_folder(weights.path):
        return inspect_latent_folder(weights.path)
    return None
