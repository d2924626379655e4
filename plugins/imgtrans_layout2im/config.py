"""The layout2im model configuration, and reading it back from a state dict (the
reference checkpoints hold only weights)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from imgtrans.plugin import NetworkConfig, WeightsError, describe_keys, build_network, unwrap_state_dict
from imgtrans_layout2im.networks import Layout2ImGenerator


@dataclass(frozen=True)
class Layout2ImConfig(NetworkConfig):
    """Everything needed to rebuild the networks. The reference COCO model is
    ``Layout2ImConfig(vocab_size=184)`` (embedding 64, z 64, 3 ConvLSTM layers, widths 64).
    ``conv_dim``/``d_conv_dim`` below 64 give small, non-reference models."""

    vocab_size: int
    embedding_dim: int = 64
    z_dim: int = 64
    clstm_layers: int = 3
    image_size: int = 64
    object_size: int = 32
    conv_dim: int = 64
    n_residual: int = 6
    d_conv_dim: int = 64

    def __post_init__(self) -> None:
        if min(self.vocab_size, self.embedding_dim, self.z_dim, self.clstm_layers,
               self.object_size, self.conv_dim, self.d_conv_dim) < 1 or self.n_residual < 0:
            raise ValueError(f"invalid layout2im configuration: {self.to_dict()}")
        if self.image_size < 16 or self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8 (>= 16), not {self.image_size}")
        if self.object_size % 16:
            raise ValueError(f"object_size must be a multiple of 16, not {self.object_size}")

    def describe(self) -> str:
        """One line for messages and reports."""
        width = "" if self.conv_dim == 64 else f", width {self.conv_dim}"
        return (f"layout2im generator ({self.vocab_size} classes, embedding {self.embedding_dim}"
                f", z {self.z_dim}, {self.clstm_layers} ConvLSTM layers{width}, "
                f"{self.image_size}x{self.image_size})")

    def build(self) -> Layout2ImGenerator:
        return Layout2ImGenerator(self.vocab_size, self.embedding_dim, self.z_dim,
                                  self.clstm_layers, self.image_size, conv_dim=self.conv_dim,
                                  n_residual=self.n_residual, object_size=self.object_size)

    def build_image_discriminator(self) -> nn.Module:
        from imgtrans_layout2im.discriminators import ImageDiscriminator

        return ImageDiscriminator(self.d_conv_dim)

    def build_object_discriminator(self) -> nn.Module:
        from imgtrans_layout2im.discriminators import ObjectDiscriminator

        return ObjectDiscriminator(self.vocab_size, self.d_conv_dim)


def _shape(sd: Mapping[str, Any], key: str) -> tuple[int, ...] | None:
    value = sd.get(key)
    return tuple(value.shape) if value is not None else None


def _unwrap(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The plain state dict (DataParallel ``module.`` prefixes, release wrappers removed);
    an empty one stays empty so that the error below can say so."""
    return unwrap_state_dict(state_dict) if state_dict else {}


def infer_config(state_dict: Mapping[str, Any], image_size: int = 64) -> Layout2ImConfig:
    """The generator configuration a (reference or imgtrans) generator state dict belongs
    to, read from key shapes: vocabulary size and embedding from
    ``layout_encoder.embedding.weight``, z from ``crop_encoder.fc_mu.weight``, width from
    ``crop_encoder.c1.weight``, ConvLSTM layers and residual blocks by counting.
    ``image_size`` leaves no trace in the weights. Raises ``WeightsError``."""
    sd = _unwrap(state_dict)
    embedding = _shape(sd, "layout_encoder.embedding.weight")
    fc_mu = _shape(sd, "crop_encoder.fc_mu.weight")
    first = _shape(sd, "crop_encoder.c1.weight")
    if embedding is None or fc_mu is None or first is None:
        if any(k.startswith("main.") for k in sd) and any("classifier" in k for k in sd):
            hint = (". This looks like a layout2im discriminator (netD_image/netD_object); "
                    "inference needs the generator file (netG_*.pkl)")
        else:
            hint = ""
        found = (f"{len(sd)} tensors (first: {describe_keys(list(sd), sd, 4)})" if sd
                 else "an empty state dict")
        raise WeightsError(f"the weights are not a layout2im generator: found {found}; "
                           f"expected layout_encoder.embedding.weight, crop_encoder.fc_mu.weight "
                           f"and crop_encoder.c1.weight{hint}")
    if len(embedding) != 2 or len(fc_mu) != 2 or len(first) != 4:
        raise WeightsError(f"the weights look like a layout2im generator but have "
                           f"layout_encoder.embedding.weight {embedding}, crop_encoder.fc_mu.weight"
                           f" {fc_mu}, crop_encoder.c1.weight {first}")
    cells = {int(m.group(1)) for k in sd
             if (m := re.match(r"layout_encoder\.clstm\.cell_list\.(\d+)\.", k))}
    blocks = {int(m.group(1)) for k in sd
              if (m := re.match(r"layout_encoder\.residual\.(\d+)\.", k))}
    if not cells or cells != set(range(len(cells))):
        raise WeightsError(f"the weights look like a layout2im generator, but its ConvLSTM "
                           f"cells are at cell_list indices {sorted(cells)}; expected 0, 1, ...")
    if blocks != set(range(len(blocks))):
        raise WeightsError(f"the weights look like a layout2im generator, but its residual "
                           f"blocks are at indices {sorted(blocks)}; expected 0, 1, ...")
    try:
        return Layout2ImConfig(vocab_size=embedding[0], embedding_dim=embedding[1],
                               z_dim=fc_mu[0], clstm_layers=len(cells), image_size=image_size,
                               conv_dim=first[0], n_residual=len(blocks))
    except ValueError as exc:
        raise WeightsError(f"the weights look like a layout2im generator but give an invalid "
                           f"configuration: {exc}") from None


def load_generator(state_dict: Mapping[str, Any], image_size: int = 64
                   ) -> tuple[Layout2ImGenerator, Layout2ImConfig]:
    """infer → build → strict load; the generator is returned in eval mode (running BN
    statistics), as the reference ``test.py`` runs it."""
    config = infer_config(state_dict, image_size)
    return build_network(config, _unwrap(state_dict)), config
