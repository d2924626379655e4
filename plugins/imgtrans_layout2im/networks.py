"""layout2im networks: the generator (crop encoder, layout encoder, decoder) and the image and
object discriminators, as the reference code (zhaobozb/layout2im) builds them.

Module trees, attribute names and which layers carry a bias follow the reference, so its
generator checkpoints (``netG_coco.pkl`` ...) load with ``strict=True`` and the same 154 keys;
see layout2im.md §2-§3. Widths are the reference's for ``conv_dim=64`` (the default); smaller
widths are our addition for small demo models.

Conventions:

* a batch of layouts is "flat": ``objs`` (O,) class indices, ``boxes`` (O, 4)
  ``(x0, y0, x1, y1)`` in [0, 1], ``masks`` (O, 1, S, S) box masks at image resolution, and
  ``obj_to_img`` (O,) with the objects of image 0 first, then image 1, ... (contiguous, in
  order, every image with at least one object; checked by ``tensors.object_counts``);
* ``z`` is one latent vector per object, (O, z_dim), N(0, I) at test time;
* images are ImageNet-normalised (``tensors.imagenet_normalize``); the generator output has no tanh
  and is unbounded; ``tensors.to_unit_range`` maps it back to [0, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from imgtrans_layout2im.tensors import crop_boxes, object_counts

COCO_VOCAB_SIZE = 184
"""Vocabulary size of the reference COCO-Stuff model (category ids up to 183 plus __image__)."""
CLSTM_KERNEL = 5


# ---------------------------------------------------------------------------------------
# Generator parts
# ---------------------------------------------------------------------------------------

class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without affine, then a per-class scale and shift from ``embed`` (vocab, 2C):
    first C columns gamma (init N(1, 0.02)), last C beta (init 0)."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.num_features = num_features
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.embed = nn.Embedding(num_classes, 2 * num_features)
        with torch.no_grad():
            nn.init.normal_(self.embed.weight[:, :num_features], 1.0, 0.02)
            nn.init.zeros_(self.embed.weight[:, num_features:])

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.embed(labels).chunk(2, dim=1)
        return self.bn(x) * gamma[:, :, None, None] + beta[:, :, None, None]


class GeneratorResidualBlock(nn.Module):
    """x + (conv3x3-BN-ReLU-conv3x3-BN)(x); convs without bias (keys ``main.{0,1,3,4}``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.BatchNorm2d(dim), nn.ReLU(),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.BatchNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class ConvLSTMCell(nn.Module):
    """One ConvLSTM cell: a single conv over [input, h] gives the i, f, o, g gates (in that
    channel order)."""

    def __init__(self, input_dim: int, hidden_dim: int, kernel_size: int = CLSTM_KERNEL) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.conv = nn.Conv2d(input_dim + hidden_dim, 4 * hidden_dim, kernel_size,
                              padding=kernel_size // 2, bias=True)

    def forward(self, x: torch.Tensor, h: torch.Tensor,
                c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gates = self.conv(torch.cat([x, h], dim=1))
        i, f, o, g = torch.split(gates, self.hidden_dim, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class LayoutConvLSTM(nn.Module):
    """Stacked ConvLSTM run over the objects of each image as a sequence (zero initial state
    per image); returns the last hidden state of the last layer, (N, hidden[-1], H, W).

    The reference loops image by image; here images run together, padded, and an image's
    state stops changing after its last object, which gives the same result."""

    def __init__(self, input_dim: int, hidden_dims: list[int],
                 kernel_size: int = CLSTM_KERNEL) -> None:
        super().__init__()
        dims = [input_dim] + list(hidden_dims)
        self.cell_list = nn.ModuleList(ConvLSTMCell(dims[i], dims[i + 1], kernel_size)
                                       for i in range(len(hidden_dims)))

    def forward(self, features: torch.Tensor, obj_to_img: torch.Tensor) -> torch.Tensor:
        counts = object_counts(obj_to_img, features.shape[0])
        num_images, steps = len(counts), max(counts)
        _, channels, height, width = features.shape
        lengths = torch.tensor(counts, device=features.device)
        starts = torch.cumsum(lengths, 0) - lengths
        position = torch.arange(features.shape[0], device=features.device) - starts[obj_to_img]
        seq = features.new_zeros(num_images, steps, channels, height, width)
        seq = seq.index_put((obj_to_img, position), features)
        h = features.new_zeros(0)
        for cell in self.cell_list:
            h = features.new_zeros(num_images, cell.hidden_dim, height, width)
            c = torch.zeros_like(h)
            outputs = []
            for t in range(steps):
                active = torch.nonzero(lengths > t).flatten()
                if active.numel() == num_images:
                    h, c = cell(seq[:, t], h, c)
                else:  # only images that still have objects advance
                    h_new, c_new = cell(seq[active, t], h[active], c[active])
                    h, c = h.index_copy(0, active, h_new), c.index_copy(0, active, c_new)
                outputs.append(h)
            seq = torch.stack(outputs, dim=1)
        return h


def clstm_hidden_dims(layers: int, conv_dim: int = 64) -> list[int]:
    """Reference hidden sizes: [64], [128, 64], [128, 64, 64] for 1, 2, 3 layers (conv_dim 64);
    more layers continue with conv_dim."""
    if layers < 1:
        raise ValueError("clstm_layers must be >= 1")
    return [conv_dim] if layers == 1 else [2 * conv_dim] + [conv_dim] * (layers - 1)


class CropEncoder(nn.Module):
    """Object crops (O, 3, 32, 32) to the posterior ``(z, mu, logvar)`` over z (training)."""

    def __init__(self, vocab_size: int, z_dim: int = 64, conv_dim: int = 64) -> None:
        super().__init__()
        c = conv_dim
        self.c1 = nn.Conv2d(3, c, 7, 1, 3, bias=False)
        self.bn1 = ConditionalBatchNorm2d(c, vocab_size)
        self.c2 = nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False)
        self.bn2 = ConditionalBatchNorm2d(2 * c, vocab_size)
        self.c3 = nn.Conv2d(2 * c, 4 * c, 4, 2, 1, bias=False)
        self.bn3 = ConditionalBatchNorm2d(4 * c, vocab_size)
        self.c4 = nn.Conv2d(4 * c, 8 * c, 4, 2, 1, bias=False)
        self.bn4 = ConditionalBatchNorm2d(8 * c, vocab_size)
        self.conv5 = nn.Conv2d(8 * c, 16 * c, 4, 2, 1, bias=False)
        self.bn5 = ConditionalBatchNorm2d(16 * c, vocab_size)
        self.fc_mu = nn.Linear(16 * c, z_dim)
        self.fc_logvar = nn.Linear(16 * c, z_dim)

    def forward(self, crops: torch.Tensor, objs: torch.Tensor,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = crops
        for conv, bn in ((self.c1, self.bn1), (self.c2, self.bn2), (self.c3, self.bn3),
                         (self.c4, self.bn4), (self.conv5, self.bn5)):
            x = F.relu(bn(conv(x), objs))
        x = x.mean(dim=(2, 3))
        mu, logvar = self.fc_mu(x), self.fc_logvar(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + eps * torch.exp(0.5 * logvar), mu, logvar


class LayoutEncoder(nn.Module):
    """(objs, masks, obj_to_img, z) to a (N, conv_dim, S/8, S/8) feature map per image.

    Per object, [embedding(label), z] is spread over its box mask, downsampled with
    class-conditional BN (``c1`` is a 1x1 conv with padding 1, so 64 -> 66 -> 33 -> 16 -> 8,
    as the reference), fused over the objects of each image by the ConvLSTM, then refined
    by residual blocks."""

    def __init__(self, vocab_size: int, embedding_dim: int = 64, z_dim: int = 64,
                 conv_dim: int = 64, clstm_layers: int = 3, n_residual: int = 6) -> None:
        super().__init__()
        c = conv_dim
        hidden = clstm_hidden_dims(clstm_layers, c)
        # Registration order as the reference, so state-dict keys come in the same order.
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.clstm = LayoutConvLSTM(8 * c, hidden)
        self.residual = nn.Sequential(*(GeneratorResidualBlock(hidden[-1])
                                        for _ in range(n_residual)))
        self.c1 = nn.Conv2d(embedding_dim + z_dim, c, 1, 1, 1, bias=False)
        self.bn1 = ConditionalBatchNorm2d(c, vocab_size)
        self.c2 = nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False)
        self.bn2 = ConditionalBatchNorm2d(2 * c, vocab_size)
        self.c3 = nn.Conv2d(2 * c, 4 * c, 4, 2, 1, bias=False)
        self.bn3 = ConditionalBatchNorm2d(4 * c, vocab_size)
        self.c4 = nn.Conv2d(4 * c, 8 * c, 4, 2, 1, bias=False)
        self.bn4 = ConditionalBatchNorm2d(8 * c, vocab_size)

    def forward(self, objs: torch.Tensor, masks: torch.Tensor, obj_to_img: torch.Tensor,
                z: torch.Tensor) -> torch.Tensor:
        count = objs.shape[0]
        if masks.dim() != 4 or masks.shape[:2] != (count, 1):
            raise ValueError(f"masks must be (O, 1, H, W) for {count} objects, got "
                             f"{tuple(masks.shape)}")
        if z.dim() != 2 or z.shape[0] != count:
            raise ValueError(f"z must be (O, z_dim) for {count} objects, got {tuple(z.shape)}")
        h = torch.cat([self.embedding(objs), z], dim=1)[:, :, None, None] * masks
        h = F.relu(self.bn1(self.c1(h), objs))
        h = F.relu(self.bn2(self.c2(h), objs))
        h = F.relu(self.bn3(self.c3(h), objs))
        h = self.bn4(self.c4(h), objs)  # no ReLU here (reference)
        return self.residual(self.clstm(h, obj_to_img))


class Decoder(nn.Module):
    """(N, conv_dim, S/8, S/8) to (N, 3, S, S): conv3x3, three ConvTranspose x2 (each + BN +
    ReLU), conv7x7 with bias; no output activation."""

    def __init__(self, conv_dim: int = 64) -> None:
        super().__init__()
        c = conv_dim
        self.c0 = nn.Conv2d(c, 4 * c, 3, 1, 1, bias=False)
        self.bn0 = nn.BatchNorm2d(4 * c)
        self.dc1 = nn.ConvTranspose2d(4 * c, 4 * c, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(4 * c)
        self.dc2 = nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * c)
        self.dc3 = nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c)
        self.c4 = nn.Conv2d(c, 3, 7, 1, 3, bias=True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn0(self.c0(h)))
        h = F.relu(self.bn1(self.dc1(h)))
        h = F.relu(self.bn2(self.dc2(h)))
        h = F.relu(self.bn3(self.dc3(h)))
        return self.c4(h)


class Layout2ImOutputs(NamedTuple):
    """The training forward's results, in the reference's tuple order."""

    crops_input: torch.Tensor
    """Crops of the real images, (O, 3, object_size, object_size)."""
    crops_input_rec: torch.Tensor
    """Crops of ``img_rec``."""
    crops_rand: torch.Tensor
    """Crops of ``img_rand``."""
    img_rec: torch.Tensor
    """Reconstruction with z from the crop encoder, (N, 3, S, S)."""
    img_rand: torch.Tensor
    """Image from the given random z."""
    mu: torch.Tensor
    logvar: torch.Tensor
    z_rand_rec: torch.Tensor
    """Crop-encoder mean of the crops of ``img_rand`` (latent regression target: z_rand)."""


class Layout2ImGenerator(nn.Module):
    """The reference generator (``Generator`` in models/generator.py).

    ``generate`` is the layout-only inference path; ``forward`` the training path, which
    also needs the real images (crop encoder, BicycleGAN style). Only ``image_size`` values
    that are multiples of 8 work (the reference: 64 only); it changes no weights.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, z_dim: int = 64,
                 clstm_layers: int = 3, image_size: int = 64, *, conv_dim: int = 64,
                 n_residual: int = 6, object_size: int = 32) -> None:
        super().__init__()
        if image_size < 16 or image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8 (>= 16), not {image_size}")
        self.vocab_size, self.z_dim = vocab_size, z_dim
        self.image_size, self.object_size = image_size, object_size
        self.crop_encoder = CropEncoder(vocab_size, z_dim, conv_dim)
        self.layout_encoder = LayoutEncoder(vocab_size, embedding_dim, z_dim, conv_dim,
                                            clstm_layers, n_residual)
        self.decoder = Decoder(conv_dim)

    def sample_z(self, num_objects: int, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """z ~ N(0, I), (num_objects, z_dim), on the model's device."""
        device = next(self.parameters()).device
        return torch.randn(num_objects, self.z_dim, generator=generator, device=device)

    def _check(self, objs: torch.Tensor, masks: torch.Tensor, z: torch.Tensor) -> None:
        if objs.dim() != 1:
            raise ValueError(f"objs must be (O,), got {tuple(objs.shape)}")
        if masks.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(f"masks are {tuple(masks.shape[-2:])}; this generator makes "
                             f"{self.image_size}x{self.image_size} images")
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be (O, {self.z_dim}), got {tuple(z.shape)}")

    def generate(self, objs: torch.Tensor, masks: torch.Tensor, obj_to_img: torch.Tensor,
                 z: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, S, S), ImageNet-normalised, from layouts alone."""
        self._check(objs, masks, z)
        return self.decoder(self.layout_encoder(objs, masks, obj_to_img, z))

    def forward(self, imgs: torch.Tensor, objs: torch.Tensor, boxes: torch.Tensor,
                masks: torch.Tensor, obj_to_img: torch.Tensor, z_rand: torch.Tensor,
                generator: torch.Generator | None = None) -> Layout2ImOutputs:
        """The reference training forward; ``generator`` draws the crop encoder's
        reparameterisation noise (both calls)."""
        self._check(objs, masks, z_rand)
        crops_input = crop_boxes(imgs, boxes, obj_to_img, self.object_size)
        z_rec, mu, logvar = self.crop_encoder(crops_input, objs, generator)
        img_rec = self.decoder(self.layout_encoder(objs, masks, obj_to_img, z_rec))
        img_rand = self.decoder(self.layout_encoder(objs, masks, obj_to_img, z_rand))
        crops_rand = crop_boxes(img_rand, boxes, obj_to_img, self.object_size)
        _, z_rand_rec, _ = self.crop_encoder(crops_rand, objs, generator)
        crops_input_rec = crop_boxes(img_rec, boxes, obj_to_img, self.object_size)
        return Layout2ImOutputs(crops_input, crops_input_rec, crops_rand, img_rec, img_rand,
                                mu, logvar, z_rand_rec)
