"""SDXL's conditioning, as diffusers' ``StableDiffusionXLImg2ImgPipeline`` computes it: two
CLIP text encoders (their penultimate hidden states side by side, the second one's pooled
projection) and the "micro-conditioning" time ids (original size, crop corner, target size,
or an aesthetic score for refiner models).

The folder's ``model_index.json`` settings apply as in diffusers: ``force_zeros_for_empty_prompt``
(default true: no negative prompt means zero embeddings) and ``requires_aesthetics_score``
(default false). Sizes are those of the (padded) image; the crop corner is (0, 0).
"""

from __future__ import annotations

from typing import Any

import torch

AESTHETIC_SCORE, NEGATIVE_AESTHETIC_SCORE = 6.0, 2.5  # the pipeline's defaults


def _encode(model: Any, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """((B, 77, D1 + D2) hidden states, (B, P) pooled) of ``texts`` through both encoders."""
    hidden, pooled = [], None
    for tokenizer, encoder in zip(model.tokenizers, model.text_encoders):
        length = min(int(tokenizer.model_max_length), int(encoder.config.max_position_embeddings))
        tokens = tokenizer(texts, padding="max_length", max_length=length, truncation=True,
                           return_tensors="pt")
        out = encoder(tokens.input_ids.to(next(encoder.parameters()).device), output_hidden_states=True)
        if pooled is None and out[0].ndim == 2:
            pooled = out[0]
        hidden.append(out.hidden_states[-2])
    if pooled is None:
        raise ValueError("SDXL needs a text encoder with a projection (CLIPTextModelWithProjection)")
    return torch.cat(hidden, dim=-1), pooled


def sdxl_conditioning(model: Any, prompts: list[str], negatives: list[str], guided: bool) -> Any:
    """The ``Conditioning`` of one batch; an empty negative prompt is diffusers' None."""
    from imgtrans_sdedit.latent import Conditioning

    text, pooled = _encode(model, prompts)
    if not guided:
        return Conditioning(text, None, pooled, None)
    if all(not n for n in negatives) and model.layout.index.get("force_zeros_for_empty_prompt", True):
        return Conditioning(text, torch.zeros_like(text), pooled, torch.zeros_like(pooled))
    uncond, pooled_uncond = _encode(model, negatives)
    return Conditioning(text, uncond, pooled, pooled_uncond)


def added_conditions(model: Any, embeddings: Any, latent_size: Any, batch: int) -> dict[str, Any]:
    """The UNet's ``added_cond_kwargs`` (unconditional rows first with guidance)."""
    factor = model.vae_scale_factor
    size = (int(latent_size[0]) * factor, int(latent_size[1]) * factor)
    crop = (0, 0)
    if model.layout.index.get("requires_aesthetics_score", False):
        ids, neg_ids = [*size, *crop, AESTHETIC_SCORE], [*size, *crop, NEGATIVE_AESTHETIC_SCORE]
    else:
        ids = neg_ids = [*size, *crop, *size]
    device, dtype = embeddings.text.device, embeddings.text.dtype
    time_ids = torch.tensor([ids], dtype=dtype, device=device).repeat(batch, 1)
    if embeddings.uncond is None:
        return {"text_embeds": embeddings.pooled, "time_ids": time_ids}
    neg = torch.tensor([neg_ids], dtype=dtype, device=device).repeat(batch, 1)
    return {"text_embeds": torch.cat([embeddings.pooled_uncond, embeddings.pooled]),
            "time_ids": torch.cat([neg, time_ids])}
