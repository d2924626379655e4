"""Batching: every built-in learned translator runs a same-size batch in one forward pass,
stays within one level of its batch-of-one result, and a batch of one gives bit for bit what
the per-image code it replaced gave (kept below as ``reference_*``), on the bundled weights
and on small random networks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import imgtrans
from imgtrans.cli import app
from imgtrans.plugin import TranslateContext, resize

LEARNED = ("pix2pix", "cyclegan", "srgan", "sdedit", "layout2im")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- the code batching replaced: one image (and one sample) per forward ---------------------

def reference_gan(translator, images, generators):
    """imgtrans_gan.inference.run_generator before batching."""
    net = translator.net
    if not (translator.per_image_statistics and not translator.options.eval):
        return torch.cat([net(images[i:i + 1]) for i in range(images.shape[0])])
    outputs = []
    for i in range(images.shape[0]):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(generators[i].initial_seed())
            outputs.append(net(images[i:i + 1]))
    return torch.cat(outputs)


def reference_sr(translator, images, generators):
    """imgtrans_srgan.inference.upscale before batching."""
    def forward(x):
        return torch.cat([translator.net(x[i:i + 1].to(translator.dtype)).float() for i in range(x.shape[0])])

    rgb = forward(images[:, :3])
    if images.shape[1] == 3:
        return rgb
    alpha = forward(images[:, 3:4].expand(-1, 3, -1, -1).contiguous()).clamp(0.0, 1.0)
    alpha = 0.299 * alpha[:, 0:1] + 0.587 * alpha[:, 1:2] + 0.114 * alpha[:, 2:3]
    return torch.cat([rgb, alpha], dim=1)


def reference_sdedit(translator, images, generators, names):
    """SDEditTranslator.translate before batching: each image and sample alone, its noise
    drawn with torch.randn / the scheduler from the image's generator."""
    from imgtrans_sdedit.masks import model_mask
    from imgtrans_sdedit.sdedit import edit_timesteps, make_scheduler

    o, model, size = translator.options, translator.model, translator.model.sample_size
    kind = "ddim" if o.scheduler == "auto" else o.scheduler  # auto: DDIM for pixel models
    outputs = []
    for i in range(images.shape[0]):
        image, generator = images[i:i + 1], generators[i]
        mask = translator._mask_for(names[i], tuple(image.shape[-2:]))
        for _ in range(o.samples):
            guide = resize(image, size, "bicubic").clamp(-1.0, 1.0) if image.shape[-2:] != size else image
            inner = None if mask is None else model_mask(mask, size)
            sampler = make_scheduler(model.scheduler_config, kind, o.steps)
            timesteps = edit_timesteps(sampler, o.steps, o.strength)
            kwargs = {"generator": generator, **({"eta": o.eta} if kind == "ddim" else {})}
            x = guide
            for _ in range(o.repeats):
                noise = torch.randn(guide.shape, generator=generator, dtype=guide.dtype)
                x = sampler.add_noise(guide, noise, timesteps[:1])
                for k, t in enumerate(timesteps):
                    x = sampler.step(model.unet(x, t).sample, t, x, **kwargs).prev_sample
                    if inner is not None:
                        last = k + 1 == len(timesteps)
                        known = guide if last else sampler.add_noise(guide, noise, timesteps[k + 1:k + 2])
                        x = inner * x + (1 - inner) * known
                guide = x
            result = resize(x, tuple(image.shape[-2:]), "bicubic") if image.shape[-2:] != size else x
            result = result.clamp(-1.0, 1.0)
            outputs.append(result if mask is None else mask * result + (1 - mask) * image)
    return torch.cat(outputs)


def reference_layout2im(translator, layouts, generators):
    """Layout2ImTranslator.generate before batching: one layout and sample per pass."""
    import torch.nn.functional as F
    from imgtrans_layout2im.layouts import box_masks
    from imgtrans_layout2im.tensors import to_unit_range

    images = []
    for layout, generator in zip(layouts, generators):
        objs, _, masks, obj_to_img = box_masks([layout], translator.net.image_size)
        for _ in range(translator.options.samples):
            z = torch.stack([translator._code(obj, generator) for obj in layout.objects])
            out = translator.net.generate(objs, masks, obj_to_img, z)
            image = to_unit_range(out, translator.options.rescale)
            if translator.options.scale > 1:
                image = F.interpolate(image, scale_factor=translator.options.scale, mode="nearest")
            image = image[0]
            if translator.options.overlay:  # drawn at the output size (since the overlay change)
                image = torch.cat([image, translator._draw(image, layout)], dim=-1)
            images.append(image)
    return torch.stack(images)


# -- inputs and weights made here -----------------------------------------------------------

def pattern(h, w, seed, channels=3, depth=8):
    """A smooth colour pattern with a little noise, uint8 or uint16 (H, W, C)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, channels)
    planes = [0.5 + 0.4 * np.sin(xx / (3 + c) + yy / (5 - c % 4) + phase[c]) for c in range(channels)]
    top = 65535 if depth == 16 else 255
    x = np.stack(planes, -1) + rng.normal(0, 0.03, (h, w, channels))
    return np.clip(np.round(x * top), 0, top).astype(np.uint16 if depth == 16 else np.uint8)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, Path]:
    """Small random networks of every built-in architecture, saved as their users would."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
    from imgtrans_gan.networks import GeneratorConfig, init_weights
    from imgtrans_layout2im.config import Layout2ImConfig
    from imgtrans_layout2im.layouts import Layout, LayoutObject, box_masks
    from imgtrans_layout2im.synthetic import VOCAB
    from imgtrans_srgan.archs import SRConfig

    folder = tmp_path_factory.mktemp("batching_weights")
    out = {}
    gans = {"unet": GeneratorConfig(arch="unet", ngf=8, num_downs=6, norm="batch", use_dropout=True),
            "resnet_bn": GeneratorConfig(arch="resnet", ngf=8, n_blocks=2, norm="batch", use_dropout=True),
            "resnet_in": GeneratorConfig(arch="resnet", ngf=8, n_blocks=3, norm="instance")}
    for name, config in gans.items():
        torch.manual_seed(0)
        net = init_weights(config.build(), "normal", 0.05)
        with torch.no_grad():  # realistic running statistics for eval mode
            net.train()
            net(torch.rand(2, 3, 64, 64) * 2 - 1)
        torch.save(net.state_dict(), out.setdefault(name, folder / f"{name}.pth"))
    srs = {"rrdbnet_x4": SRConfig(arch="rrdbnet", scale=4, num_feat=8, num_block=2, num_grow_ch=4),
           "rrdbnet_x2": SRConfig(arch="rrdbnet", scale=2, num_feat=8, num_block=1, num_grow_ch=4),
           "srvgg": SRConfig(arch="srvgg", scale=4, num_feat=8, num_block=4),
           "msrresnet": SRConfig(arch="msrresnet", scale=4, num_feat=8, num_block=2),
           "srresnet": SRConfig(arch="srresnet", scale=4, num_feat=8, num_block=2)}
    for name, config in srs.items():
        torch.manual_seed(1)
        net = config.build()
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        state = net.state_dict() if name == "srresnet" else {"params": net.state_dict()}
        torch.save(state, out.setdefault(name, folder / f"{name}.pth"))
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=16, in_channels=3, out_channels=3, block_out_channels=(16, 32),
                       layers_per_block=1, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000)).save_pretrained(folder / "ddpm")
    out["ddpm"] = folder / "ddpm"
    torch.manual_seed(0)
    net = Layout2ImConfig(vocab_size=len(VOCAB), embedding_dim=16, z_dim=8, clstm_layers=2, conv_dim=16,
                          n_residual=1, d_conv_dim=16).build()
    layout = Layout([LayoutObject(1, (0.1, 0.1, 0.5, 0.5)), LayoutObject(2, (0.4, 0.4, 0.9, 0.9))], "x")
    objs, _, masks, owners = box_masks([layout, layout])
    with torch.no_grad():
        net.train()
        net.generate(objs, masks, owners, torch.randn(len(objs), 8))
    (folder / "l2i").mkdir()
    torch.save(net.state_dict(), folder / "l2i" / "netG_synth.pkl")
    (folder / "l2i" / "vocab.json").write_text(json.dumps(VOCAB.to_json()))
    out["l2i"] = folder / "l2i"
    import cv2

    mask = np.zeros((32, 32), np.uint8)
    mask[:, 12:] = 255
    cv2.imwrite(str(folder / "mask.png"), mask)
    out["mask"] = folder / "mask.png"
    (folder / "masks").mkdir()
    for i in range(COUNT):  # one mask per input, each another region
        mask = np.zeros((32, 32), np.uint8)
        mask[4 * i:4 * i + 16, 2 * i:] = 255
        cv2.imwrite(str(folder / "masks" / f"img{i}.png"), mask)
    out["masks"] = folder / "masks"
    return out


# (plugin, weights: a fixture key, a registry name or None for the default, options, inputs:
# (h, w, channels, depth) or "layouts", the reference path)
CASES = {
    "pix2pix-bundled": ("pix2pix", None, {}, (64, 64, 3, 8), reference_gan),
    "pix2pix-bundled-padded": ("pix2pix", None, {}, (50, 70, 3, 8), reference_gan),
    "pix2pix-bundled-eval": ("pix2pix", None, {"eval": True}, (64, 64, 3, 8), reference_gan),
    "pix2pix-unet": ("pix2pix", "unet", {}, (64, 64, 3, 8), reference_gan),
    "pix2pix-resnet-bn-dropout": ("pix2pix", "resnet_bn", {}, (32, 48, 3, 8), reference_gan),
    "cyclegan-bundled": ("cyclegan", None, {}, (64, 64, 3, 8), reference_gan),
    "cyclegan-bundled-BtoA": ("cyclegan", None, {"direction": "BtoA"}, (48, 40, 3, 8), reference_gan),
    "cyclegan-resnet": ("cyclegan", "resnet_in", {}, (64, 64, 3, 8), reference_gan),
    "srgan-bundled": ("srgan", None, {}, (24, 20, 3, 8), reference_sr),
    "srgan-bundled-rgba": ("srgan", None, {}, (20, 24, 4, 8), reference_sr),
    "srgan-bundled-16bit": ("srgan", None, {}, (20, 20, 3, 16), reference_sr),
    "srgan-bundled-synthetic": ("srgan", "srgan.synthetic_x4", {}, (24, 20, 3, 8), reference_sr),
    "srgan-rrdbnet-x4": ("srgan", "rrdbnet_x4", {}, (16, 20, 3, 8), reference_sr),
    "srgan-rrdbnet-x2-rgba": ("srgan", "rrdbnet_x2", {}, (16, 20, 4, 8), reference_sr),
    "srgan-srvgg": ("srgan", "srvgg", {}, (20, 16, 3, 8), reference_sr),
    "srgan-msrresnet": ("srgan", "msrresnet", {}, (20, 20, 3, 8), reference_sr),
    "srgan-srresnet": ("srgan", "srresnet", {}, (20, 20, 3, 8), reference_sr),
    "sdedit-bundled": ("sdedit", None, {"strength": 0.5, "steps": 10}, (32, 32, 3, 8), reference_sdedit),
    "sdedit-bundled-ddpm-samples": ("sdedit", None, {"strength": 0.6, "steps": 10, "scheduler": "ddpm", "samples": 2},
                                    (40, 28, 3, 8), reference_sdedit),
    "sdedit-bundled-eta-mask-repeats": ("sdedit", None, {"strength": 0.5, "steps": 10, "eta": 0.5, "repeats": 2,
                                                         "mask": "mask"}, (32, 32, 3, 8), reference_sdedit),
    "sdedit-bundled-mask-folder": ("sdedit", None, {"strength": 0.5, "steps": 10, "mask": "masks"}, (32, 32, 3, 8),
                                   reference_sdedit),
    "sdedit-attention": ("sdedit", "ddpm", {"strength": 0.7, "steps": 10, "eta": 1.0}, (16, 16, 3, 8),
                         reference_sdedit),
    "layout2im-bundled-samples": ("layout2im", None, {"samples": 2}, "layouts", reference_layout2im),
    "layout2im-bundled-overlay": ("layout2im", None, {"overlay": True, "scale": 2}, "layouts", reference_layout2im),
    "layout2im-random": ("layout2im", "l2i", {"samples": 2, "rescale": "reference"}, "layouts", reference_layout2im),
}
COUNT = 4


def _load(case, weights, seed=3):
    plugin, key, options, _, _ = case
    options = {k: str(weights[v]) if k == "mask" else v for k, v in options.items()}  # a fixture file
    return imgtrans.load(plugin, None if key is None else weights.get(key, key), options=options, seed=seed)


def _inputs(case, seed):
    shape = case[3]
    if shape == "layouts":
        from imgtrans_layout2im.synthetic import VOCAB, random_layout

        rng = np.random.default_rng(seed)
        return [random_layout(rng, VOCAB, 1, 4) for _ in range(COUNT)], 8
    h, w, channels, depth = shape
    return [pattern(h, w, seed + i, channels, depth) for i in range(COUNT)], depth


def _run(model, inputs, depth, batch_size):
    """Quantized outputs of the pipeline fed ``batch_size`` inputs at a time."""
    names = [f"img{i}.png" for i in range(len(inputs))]
    out = []
    for start in range(0, len(inputs), batch_size):
        chunk, chunk_names = inputs[start:start + batch_size], names[start:start + batch_size]
        if model.runner.takes_images:
            out += model.runner.run_arrays(chunk, depth, chunk_names)
        else:
            out += model.runner.run_inputs(chunk, chunk_names)
    return out


@pytest.mark.parametrize("name", CASES)
def test_batching_moves_no_value_by_more_than_one_level(host, weights, name):
    model = _load(CASES[name], weights)
    inputs, depth = _inputs(CASES[name], seed=sum(map(ord, name)))
    alone, together = _run(model, inputs, depth, 1), _run(model, inputs, depth, COUNT)
    assert len(alone) == len(together) == COUNT * model.runner.samples
    for a, b in zip(alone, together):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert np.abs(a.astype(np.int64) - b.astype(np.int64)).max() <= 1  # one 8-bit or 16-bit level


@pytest.mark.parametrize("name", CASES)
def test_a_batch_of_one_is_bit_identical_to_the_per_image_code(host, weights, name):
    case = CASES[name]
    model = _load(case, weights)
    translator, reference = model.translator, case[4]
    generator = torch.Generator().manual_seed
    with torch.inference_mode():
        if case[3] == "layouts":
            for i, layout in enumerate(_inputs(case, seed=7)[0]):
                context = TranslateContext(device=torch.device("cpu"), generators=[generator(100 + i)])
                ours = translator.generate([layout], context)
                assert torch.equal(ours, reference(translator, [layout], [generator(100 + i)]))
            return
        h, w, channels, _ = case[3]
        low, high = translator.preprocessing().value_range
        if name.startswith("pix2pix") or name.startswith("cyclegan"):  # the network's size multiple
            multiple = translator.config_.size_multiple
            h, w = -(-h // multiple) * multiple, -(-w // multiple) * multiple
        torch.manual_seed(7)
        images = low + (high - low) * torch.rand(COUNT, channels, h, w)
        for i in range(COUNT):
            names = [f"img{i}.png"]
            context = TranslateContext(device=torch.device("cpu"), generators=[generator(100 + i)], names=names)
            ours = translator.translate(images[i:i + 1], context)
            gens = [generator(100 + i)]
            expected = (reference(translator, images[i:i + 1], gens, names) if reference is reference_sdedit
                        else reference(translator, images[i:i + 1], gens))
            assert torch.equal(ours, expected)


@pytest.mark.parametrize("name", ["pix2pix-bundled", "cyclegan-bundled", "srgan-bundled-rgba", "sdedit-bundled",
                                  "layout2im-bundled-samples"])
def test_a_batch_runs_in_as_many_forward_passes_as_one_image(host, weights, name):
    case = CASES[name]
    model = _load(case, weights)
    translator = model.translator
    if case[0] == "sdedit":
        net = translator.model.unet
    else:  # layout2im: its decoder runs once per pass
        net = translator.net.decoder if case[0] == "layout2im" else translator.net
    calls = []
    hook = net.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    try:
        inputs, depth = _inputs(case, seed=1)
        _run(model, inputs[:1], depth, 1)
        alone = list(calls)
        calls.clear()
        _run(model, inputs, depth, COUNT)
    finally:
        hook.remove()
    assert len(calls) == len(alone) and set(calls) == {COUNT} and set(alone) == {1}


def test_per_image_batch_norm_and_dropout_are_exact_in_any_batch():
    """pix2pix's default test mode: statistics and dropout masks per image, bit for bit what
    each image gets alone from the global RNG seeded from its generator (the reference)."""
    from imgtrans_gan.modes import PerImageBatchNorm2d, PerImageDropout, per_image, set_pix2pix_test_mode

    torch.manual_seed(0)
    net = torch.nn.Sequential(PerImageBatchNorm2d(6), PerImageDropout(0.5), PerImageBatchNorm2d(6))
    for bn in (net[0], net[2]):
        torch.nn.init.normal_(bn.weight, 1.0, 0.3)
        torch.nn.init.normal_(bn.bias, 0.0, 0.3)
    set_pix2pix_test_mode(net, eval_mode=False)
    x = torch.randn(5, 6, 7, 9) * torch.arange(1.0, 6.0).view(5, 1, 1, 1)
    seeds = [11, 12, 13, 14, 15]
    alone = []
    for i, seed in enumerate(seeds):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            alone.append(net(x[i:i + 1]))
    with per_image(net, [torch.Generator().manual_seed(s) for s in seeds]):
        together = net(x)
    assert torch.equal(together, torch.cat(alone))
    # outside the block the layers are plain BatchNorm2d / Dropout again: statistics mix images
    with torch.random.fork_rng(devices=[]):
        assert not torch.allclose(net(x)[:1], alone[0])


def test_per_image_refuses_layers_it_cannot_split():
    from imgtrans_gan.modes import per_image

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.BatchNorm2d(3))
    with pytest.raises(TypeError, match="BatchNorm2d"):
        with per_image(net, [torch.Generator()]):
            pass


def test_built_in_translators_declare_their_batch_invariance(host):
    for name in LEARNED:
        result = CliRunner().invoke(app, ["info", name, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["capabilities"]["batch_invariance"] == "within one level"
    result = CliRunner().invoke(app, ["info", "srgan"])
    assert "batch invariance: within one level" in result.output
