"""Training layout2im (Zhao et al. 2019) with the shared training loop.

Data: a COCO-format dataset folder, ``<data>/instances.json`` (plus ``<data>/stuff.json``
when present, as COCO-Stuff) and the images in ``<data>/images/``; this is what
``imgtrans_layout2im.synthetic.make_dataset`` writes. Layouts are read with
``coco.read_coco`` and the paper's filters (``min_object_size``, ``min_objects``,
``max_objects`` options); the vocabulary comes from the data and is stored in every
checkpoint, so ``imgtrans convert --plugin layout2im --weights RUN`` needs no other flag.
Images are resized to 64x64 (PIL-exact bilinear, as the reference loader) and
ImageNet-normalised; the objects of an image are shuffled every time it is loaded (torch's
global RNG, which the loop seeds and checkpoints), as the reference loaders do.

One step follows the reference ``train.py`` (layout2im.md §4):

1. the generator's training forward on the batch with ``z_rand ~ N(0, I)``;
2. one discriminator step: image D on real (target 1) and on the reconstruction and the
   random-z image (target 0, averaged 0.5/0.5); object D on the real crops (1) and the crops
   of both fakes (0, 0.5/0.5) plus its auxiliary classifier (cross-entropy on real crops
   only); non-saturating BCE-with-logits, weights ``lambda_img_adv``, ``lambda_obj_adv``,
   ``lambda_obj_cls``; both D optimizers step;
3. one generator step: ``lambda_img_rec`` L1(img_rec, img) + ``lambda_z_rec`` L1(z_rand_rec,
   z_rand) + ``lambda_img_adv`` image-adv + ``lambda_obj_adv`` object-adv +
   ``lambda_obj_cls`` object-classification (each averaged 0.5/0.5 over the reconstruction
   and the random image) + ``lambda_kl`` KL(N(mu, sigma) || N(0, I)) summed over all
   elements; with ``lambda_ms`` > 0 (our addition, off by default) also the mode-seeking
   term of Mao et al. 2019, ``lambda_ms / (ratio + 1e-5)`` with ``ratio`` = mean |crops of
   img_rand - crops of a second random image| / mean |z_rand - z_rand2|: the latent
   regression alone did not keep the generator from ignoring z in short CPU runs.

Generator forward for the G step: the reference runs the generator forward a second time
after the D step (same z). By default (``recompute_g=false``) we reuse the first forward:
the discriminators saw it through ``detach()`` so the G step's graph is intact, and the
generator's weights did not change in between, so the G losses and gradients are the ones
the reference gets, except that the reference draws a second crop-encoder noise sample for
the reconstruction and updates the generator's BatchNorm running statistics twice per step.
This saves about a third of the step time on a CPU. ``recompute_g=true`` does exactly what
the reference does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from imgtrans.plugin import (
    Sample,
    TrainingTask,
    UsageError,
    check_items,
    load_rgb8,
    resize,
    to_tensor,
)
from imgtrans_layout2im.coco import read_coco
from imgtrans_layout2im.config import Layout2ImConfig
from imgtrans_layout2im.tensors import (
    crop_boxes, imagenet_normalize, masks_from_boxes, outline_boxes, to_unit_range)
from imgtrans_layout2im.options import NAME, Layout2ImTrainOptions

log = logging.getLogger(__name__)

IMAGE_SIZE = 64
"""The reference trains and generates at 64x64 only (layout2im.md §1)."""


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------

def find_annotations(data: Path) -> tuple[Path, Path | None, Path]:
    """``(instances.json, stuff.json or None, image folder)`` of a dataset folder (or of the
    folder holding a given ``instances.json``)."""
    data = Path(data)
    root = data.parent if data.is_file() else data
    instances = data if data.is_file() else root / "instances.json"
    if not instances.is_file():
        raise TrainingTask.data_error(
            f"{data}: expected a COCO-format dataset folder with instances.json (+ optional "
            f"stuff.json) and images/ (e.g. from imgtrans_layout2im.synthetic.make_dataset)")
    stuff = root / "stuff.json"
    images = root / "images"
    if not images.is_dir():
        raise TrainingTask.data_error(f"{root}: no images/ folder next to {instances.name}")
    return instances, stuff if stuff.is_file() else None, images


class LayoutDataset:
    """Item ``i``: ``(image, objs, boxes, valid)`` with ``image`` (3, 64, 64) float in [0, 1]
    (not yet ImageNet-normalised), ``objs`` (max_objects,) long, ``boxes`` (max_objects, 4)
    float ``(x0, y0, x1, y1)``, ``valid`` (max_objects,) bool. The image's objects come
    first, in a fresh random order each time (torch's global RNG); padding after them has
    label 0 and an empty box. Resized images are kept in memory for datasets of up to
    ``cache_limit`` images."""

    def __init__(self, paths: list[Path], layouts: list[Any], vocab: Any, max_objects: int,
                 cache_limit: int = 20000) -> None:
        self.paths, self.layouts, self.vocab = paths, layouts, vocab
        self.max_objects = max_objects
        self._cache: dict[int, Any] | None = {} if len(paths) <= cache_limit else None

    @classmethod
    def from_folder(cls, data: Path, options: Layout2ImTrainOptions,
                    on_bad_data: str) -> "LayoutDataset":
        instances, stuff, image_dir = find_annotations(data)
        vocab, entries = read_coco(instances, stuff, min_object_size=options.min_object_size,
                                   min_objects=options.min_objects,
                                   max_objects=options.max_objects)
        if not entries:
            raise UsageError(f"{instances}: no image has {options.min_objects} to "
                             f"{options.max_objects} objects larger than "
                             f"{options.min_object_size:g} of the image; lower the options "
                             f"min_objects / min_object_size or raise max_objects")
        by_path = {image_dir / name: layout for name, layout in entries}
        good = check_items([Sample(p) for p in by_path], [], on_bad_data)
        paths = [s.a for s in good]
        log.info("layout2im data: %d images, %d classes, %d objects", len(paths),
                 len(vocab.labels), sum(len(by_path[p]) for p in paths))
        return cls(paths, [by_path[p] for p in paths], vocab, options.max_objects)

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> torch.Tensor:
        """(3, 64, 64) float in [0, 1]: the file resized as the reference loader does."""
        if self._cache is not None and index in self._cache:
            return self._cache[index].float() / 255.0
        tensor = to_tensor(load_rgb8(self.paths[index]))[None]
        tensor = resize(tensor, (IMAGE_SIZE, IMAGE_SIZE), "bilinear", levels=255)[0].clamp(0, 1)
        if self._cache is not None:
            self._cache[index] = torch.round(tensor * 255).to(torch.uint8)
            return self._cache[index].float() / 255.0
        return tensor

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        layout = self.layouts[index]
        count = len(layout.objects)
        objs = torch.zeros(self.max_objects, dtype=torch.long)
        boxes = torch.zeros(self.max_objects, 4)
        valid = torch.zeros(self.max_objects, dtype=torch.bool)
        for slot, j in enumerate(torch.randperm(count).tolist()):
            obj = layout.objects[j]
            objs[slot] = obj.label
            boxes[slot] = torch.tensor(obj.box)
        valid[:count] = True
        return self.image(index), objs, boxes, valid


def flatten_batch(objs: torch.Tensor, boxes: torch.Tensor, valid: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ``(B, M)`` objects to the reference's flat form ``(objs, boxes, obj_to_img)``:
    the valid objects of image 0, then image 1, ... (contiguous, image order kept)."""
    valid = valid.bool()
    owners = torch.arange(valid.shape[0], device=valid.device)[:, None].expand_as(valid)
    return objs[valid], boxes[valid], owners[valid]


_PALETTE = ((255, 64, 64), (64, 220, 64), (80, 120, 255), (255, 220, 0), (255, 0, 255),
            (0, 230, 230), (255, 150, 0), (160, 90, 255), (255, 255, 255), (120, 255, 160))


def draw_boxes(images: torch.Tensor, boxes: torch.Tensor, objs: torch.Tensor,
               obj_to_img: torch.Tensor) -> torch.Tensor:
    """Copies of ``images`` (N, 3, S, S) in [0, 1] with each object's box outlined (1 px) in
    a colour of its class."""
    colours = [_PALETTE[label % len(_PALETTE)] for label in objs.tolist()]
    return outline_boxes(images, boxes.tolist(), obj_to_img.tolist(), colours)


# ---------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------

class Layout2ImTask(TrainingTask):
    """Networks ``G`` (generator), ``D_img`` (image discriminator), ``D_obj`` (object
    discriminator); one reference D step then one G step per training step."""

    plugin = NAME

    def __init__(self, options: Layout2ImTrainOptions, settings: Any, device: Any) -> None:
        self.options, self.device = options, device
        self.default_epochs = options.n_epochs
        self.dataset = LayoutDataset.from_folder(Path(settings.data), options,
                                                 settings.on_bad_data)
        self.vocab = self.dataset.vocab
        o = options
        self.config = Layout2ImConfig(vocab_size=len(self.vocab), embedding_dim=o.embedding_dim,
                                      z_dim=o.z_dim, clstm_layers=o.clstm_layers,
                                      image_size=IMAGE_SIZE, conv_dim=o.conv_dim,
                                      n_residual=o.n_residual, d_conv_dim=o.d_conv_dim)
        self.G = self.config.build().to(device)
        self.D_img = self.config.build_image_discriminator().to(device)
        self.D_obj = self.config.build_object_discriminator().to(device)
        betas = (o.beta1, o.beta2)
        self._nets = {"G": self.G, "D_img": self.D_img, "D_obj": self.D_obj}
        self._opts = {name: torch.optim.Adam(net.parameters(), lr=o.lr, betas=betas)
                      for name, net in self._nets.items()}

    def networks(self):
        return self._nets

    def optimizers(self):
        return self._opts

    def _inputs(self, batch: tuple[Any, ...]) -> tuple[Any, ...]:
        images, objs, boxes, valid = batch
        objs, boxes, obj_to_img = flatten_batch(objs, boxes, valid)
        masks = masks_from_boxes(boxes, IMAGE_SIZE)
        return imagenet_normalize(images), objs, boxes, masks, obj_to_img

    def train_step(self, batch) -> dict[str, float]:
        o = self.options
        imgs, objs, boxes, masks, obj_to_img = self._inputs(batch)
        z = torch.randn(objs.shape[0], self.config.z_dim).to(self.device)  # global RNG (CPU)
        out = self.G(imgs, objs, boxes, masks, obj_to_img, z)

        def adv(logits: Any, real: bool) -> Any:
            return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))

        # -- discriminators ------------------------------------------------------------
        for net in (self.D_img, self.D_obj):
            net.requires_grad_(True)
        opt_img, opt_obj, opt_g = self._opts["D_img"], self._opts["D_obj"], self._opts["G"]
        opt_img.zero_grad(set_to_none=True)
        opt_obj.zero_grad(set_to_none=True)
        d_img_fake = (0.5 * adv(self.D_img(out.img_rec.detach()), False)
                      + 0.5 * adv(self.D_img(out.img_rand.detach()), False))
        d_img_real = adv(self.D_img(imgs), True)
        d_obj_fake = (0.5 * adv(self.D_obj(out.crops_input_rec.detach())[0], False)
                      + 0.5 * adv(self.D_obj(out.crops_rand.detach())[0], False))
        src_real, cls_real = self.D_obj(out.crops_input.detach())
        d_obj_real = adv(src_real, True)
        d_obj_cls = F.cross_entropy(cls_real, objs)
        d_loss = (o.lambda_img_adv * (d_img_fake + d_img_real)
                  + o.lambda_obj_adv * (d_obj_fake + d_obj_real) + o.lambda_obj_cls * d_obj_cls)
        d_loss.backward()
        opt_img.step()
        opt_obj.step()

        # -- generator -----------------------------------------------------------------
        for net in (self.D_img, self.D_obj):
            net.requires_grad_(False)
        if o.recompute_g:
            out = self.G(imgs, objs, boxes, masks, obj_to_img, z)
        opt_g.zero_grad(set_to_none=True)
        img_rec = (out.img_rec - imgs).abs().mean()
        z_rec = (out.z_rand_rec - z).abs().mean()
        kl = -0.5 * torch.sum(1 + out.logvar - out.mu.pow(2) - out.logvar.exp())
        g_img_adv = (0.5 * adv(self.D_img(out.img_rec), True)
                     + 0.5 * adv(self.D_img(out.img_rand), True))
        src_rec, cls_rec = self.D_obj(out.crops_input_rec)
        src_rand, cls_rand = self.D_obj(out.crops_rand)
        g_obj_adv = 0.5 * adv(src_rec, True) + 0.5 * adv(src_rand, True)
        g_obj_cls = 0.5 * F.cross_entropy(cls_rec, objs) + 0.5 * F.cross_entropy(cls_rand, objs)
        g_loss = (o.lambda_img_rec * img_rec + o.lambda_z_rec * z_rec + o.lambda_kl * kl
                  + o.lambda_img_adv * g_img_adv + o.lambda_obj_adv * g_obj_adv
                  + o.lambda_obj_cls * g_obj_cls)
        extra: dict[str, float] = {}
        if o.lambda_ms > 0:  # no extra draw from the global RNG when off (reference runs)
            z2 = torch.randn(objs.shape[0], self.config.z_dim).to(self.device)
            crops2 = crop_boxes(self.G.generate(objs, masks, obj_to_img, z2), boxes, obj_to_img,
                                self.G.object_size)
            ratio = (out.crops_rand - crops2).abs().mean() / (z - z2).abs().mean()
            g_loss = g_loss + o.lambda_ms / (ratio + 1e-5)
            extra["ms_ratio"] = ratio.item()
        g_loss.backward()
        opt_g.step()
        for net in (self.D_img, self.D_obj):
            net.requires_grad_(True)
        return {"D": d_loss.item(), "G": g_loss.item(), "img_rec": img_rec.item(),
                "z_rec": z_rec.item(), "kl": kl.item(), "G_img_adv": g_img_adv.item(),
                "G_obj_adv": g_obj_adv.item(), "G_obj_cls": g_obj_cls.item(),
                "D_obj_cls": d_obj_cls.item(), **extra}

    def sample_grid(self, batch):
        """One row per preview item: the real image | a layout-only sample (z ~ N(0, I),
        the same codes every epoch; colours clamped, not min-max stretched) | that sample
        with the boxes outlined in a colour per class."""
        real = batch[0]
        _, objs, boxes, masks, obj_to_img = self._inputs(batch)
        z = torch.randn(objs.shape[0], self.config.z_dim,
                        generator=torch.Generator().manual_seed(0)).to(self.device)
        was_training = self.G.training
        self.G.eval()
        with torch.no_grad():
            fake = to_unit_range(self.G.generate(objs, masks, obj_to_img, z), "clamp")
        self.G.train(was_training)
        overlay = draw_boxes(fake, boxes, objs, obj_to_img)
        rows = [torch.cat([real[i], fake[i], overlay[i]], dim=-1) for i in range(real.shape[0])]
        return torch.cat(rows, dim=-2)

    def network_configs(self) -> dict[str, dict[str, Any]]:
        # one configuration rebuilds all three (build, build_*_discriminator)
        return {name: self.config.to_dict() for name in self._nets}

    def checkpoint_extra(self) -> dict[str, Any]:
        return {"vocab": self.vocab.to_json()}
