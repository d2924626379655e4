"""layout2im networks: reference layout and figures from layout2im.md, inference, crops."""

from __future__ import annotations

import pytest
import torch
from imgtrans_layout2im.config import Layout2ImConfig, infer_config, load_generator
from imgtrans_layout2im.discriminators import ImageDiscriminator, ObjectDiscriminator
from imgtrans_layout2im.networks import COCO_VOCAB_SIZE, Layout2ImGenerator
from imgtrans_layout2im.tensors import crop_boxes, imagenet_normalize, object_counts, to_unit_range
from torch import nn

from imgtrans.errors import WeightsError


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def official():
    with torch.device("meta"):  # full size, no memory
        return Layout2ImConfig(vocab_size=COCO_VOCAB_SIZE).build()


# -- the reference configuration ---------------------------------------------------------

def test_official_parameter_counts(official):
    assert n_params(official) == 27_684_739
    assert n_params(official.crop_encoder) == 12_011_840
    assert n_params(official.layout_encoder) == 13_810_688
    assert n_params(official.decoder) == 1_862_211


def test_official_state_dict_keys(official):
    s = shapes(official)
    assert len(s) == 154
    assert sum(1 for k in s if k.rsplit(".", 1)[1] in
               ("running_mean", "running_var", "num_batches_tracked")) == 75
    assert {k.split(".")[0] for k in s} == {"crop_encoder", "layout_encoder", "decoder"}
    # crop encoder
    assert s["crop_encoder.c1.weight"] == (64, 3, 7, 7)
    for k, c in zip(("c2", "c3", "c4", "conv5"), (128, 256, 512, 1024)):
        assert s[f"crop_encoder.{k}.weight"] == (c, c // 2, 4, 4)
        assert f"crop_encoder.{k}.bias" not in s
    for k, c in enumerate((64, 128, 256, 512, 1024), start=1):
        assert s[f"crop_encoder.bn{k}.embed.weight"] == (184, 2 * c)
        assert s[f"crop_encoder.bn{k}.bn.running_mean"] == (c,)
        assert f"crop_encoder.bn{k}.bn.num_batches_tracked" in s
        assert f"crop_encoder.bn{k}.bn.weight" not in s  # no affine
    assert s["crop_encoder.fc_mu.weight"] == (64, 1024) and s["crop_encoder.fc_mu.bias"] == (64,)
    assert s["crop_encoder.fc_logvar.weight"] == (64, 1024)
    # layout encoder
    assert s["layout_encoder.embedding.weight"] == (184, 64)
    assert s["layout_encoder.c1.weight"] == (64, 128, 1, 1)
    assert s["layout_encoder.c4.weight"] == (512, 256, 4, 4)
    assert s["layout_encoder.bn4.embed.weight"] == (184, 1024)
    clstm = [(512, 640, 5, 5), (256, 192, 5, 5), (256, 128, 5, 5)]
    for i, shape in enumerate(clstm):
        assert s[f"layout_encoder.clstm.cell_list.{i}.conv.weight"] == shape
        assert s[f"layout_encoder.clstm.cell_list.{i}.conv.bias"] == (shape[0],)
    for b in range(6):
        for j in (0, 3):
            assert s[f"layout_encoder.residual.{b}.main.{j}.weight"] == (64, 64, 3, 3)
        for j in (1, 4):
            for leaf in ("weight", "bias", "running_mean", "running_var",
                         "num_batches_tracked"):
                assert f"layout_encoder.residual.{b}.main.{j}.{leaf}" in s
    assert not any(k.startswith("layout_encoder.residual.6") for k in s)
    # decoder
    assert s["decoder.c0.weight"] == (256, 64, 3, 3)
    assert s["decoder.dc1.weight"] == (256, 256, 4, 4)  # ConvTranspose: (in, out, k, k)
    assert s["decoder.dc2.weight"] == (256, 128, 4, 4)
    assert s["decoder.dc3.weight"] == (128, 64, 4, 4)
    assert s["decoder.c4.weight"] == (3, 64, 7, 7) and s["decoder.c4.bias"] == (3,)
    for k in range(4):
        assert f"decoder.bn{k}.weight" in s and f"decoder.bn{k}.running_var" in s


@pytest.mark.parametrize("layers, hidden", [(1, [64]), (2, [128, 64])])
def test_fewer_convlstm_layers(layers, hidden):
    with torch.device("meta"):
        s = shapes(Layout2ImConfig(184, clstm_layers=layers).build())
    dims = [512] + hidden
    for i in range(layers):
        assert s[f"layout_encoder.clstm.cell_list.{i}.conv.weight"] == (
            4 * dims[i + 1], dims[i] + dims[i + 1], 5, 5)
    assert f"layout_encoder.clstm.cell_list.{layers}.conv.weight" not in s


def test_official_discriminators():
    with torch.device("meta"):
        image_d = ImageDiscriminator()
        object_d = ObjectDiscriminator(COCO_VOCAB_SIZE)
    assert n_params(image_d) == 10_141_440
    assert n_params(object_d) == 10_330_041
    s = shapes(image_d)
    assert s["main.0.resi.0.weight_orig"] == (64, 3, 3, 3)  # spectral norm (old-style keys)
    assert "main.0.resi.0.weight_u" in s and "main.0.resi.0.weight_v" in s
    assert s["main.0.sc.weight_orig"] == (64, 3, 1, 1)
    assert s["main.1.resi.1.weight_orig"] == (64, 64, 3, 3)  # in -> in, then in -> out
    assert s["main.1.resi.3.weight_orig"] == (128, 64, 3, 3)
    assert s["main.4.sc.weight_orig"] == (1024, 512, 1, 1)
    assert s["classifier.weight_orig"] == (1, 1024) and "classifier.bias" not in s
    o = shapes(object_d)
    assert o["classifier_src.weight_orig"] == (1, 1024) and o["classifier_src.bias"] == (1,)
    assert o["classifier_cls.weight_orig"] == (184, 1024)


def test_conditional_batch_norm_initialisation():
    torch.manual_seed(0)
    weight = Layout2ImConfig(50, conv_dim=8).build().layout_encoder.bn2.embed.weight
    gamma, beta = weight[:, :16], weight[:, 16:]
    assert abs(gamma.mean().item() - 1) < 0.01 and 0.01 < gamma.std().item() < 0.03
    assert torch.all(beta == 0)


# -- configuration and checkpoints ---------------------------------------------------------

def test_config_round_trip_and_validation():
    config = Layout2ImConfig(10, z_dim=8, conv_dim=16, clstm_layers=2)
    assert Layout2ImConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown"):
        Layout2ImConfig.from_dict({**config.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="multiple of 8"):
        Layout2ImConfig(10, image_size=60)
    assert "184 classes" in Layout2ImConfig(184).describe()


def test_infer_config_from_the_official_layout(official):
    assert infer_config(official.state_dict()) == Layout2ImConfig(184)


def test_load_generator_round_trip():
    config = Layout2ImConfig(7, embedding_dim=4, z_dim=6, conv_dim=8, clstm_layers=2,
                             n_residual=2)
    torch.manual_seed(1)
    source = config.build()
    sd = {f"module.{k}": v for k, v in source.state_dict().items()}
    model, inferred = load_generator(sd)
    assert inferred == config and not model.training
    for k, v in source.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)


def test_recognises_generators_only(official):
    from imgtrans_layout2im.translator import Layout2ImTranslator

    recognises = Layout2ImTranslator.recognises
    sd = official.state_dict()
    assert recognises(sd)
    assert recognises({f"module.{k}": v for k, v in sd.items()})  # DataParallel
    assert recognises({"state_dict": sd, "epoch": 3})  # a training wrapper
    small = Layout2ImConfig(7, embedding_dim=4, z_dim=6, conv_dim=8, n_residual=1)
    assert recognises(small.build().state_dict())
    conv = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 3, 3)).state_dict()
    assert not recognises(conv)
    assert not recognises(ImageDiscriminator(8).state_dict())
    assert not recognises({k: v for k, v in sd.items() if ".clstm." not in k})
    flat = {**sd, "crop_encoder.c1.weight": torch.zeros(64)}
    assert not recognises(flat)
    for odd in ({}, {"layout_encoder.embedding.weight": "text"}, None, [1, 2], "netG_coco.pkl"):
        assert not recognises(odd)  # type: ignore[arg-type]


def test_load_generator_errors():
    config = Layout2ImConfig(7, embedding_dim=4, z_dim=6, conv_dim=8, n_residual=1)
    sd = config.build().state_dict()
    broken = dict(sd)
    broken["decoder.c4.weight"] = torch.zeros(3, 8, 5, 5)
    with pytest.raises(WeightsError, match="decoder.c4.weight"):
        load_generator(broken)
    with pytest.raises(WeightsError, match="discriminator"):
        infer_config(ImageDiscriminator(8).state_dict())
    with pytest.raises(WeightsError, match="empty state dict"):
        infer_config({})


# -- a small random model --------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    """A random small generator whose BN running statistics come from one training-mode
    pass (with the initial 0/1 statistics an untrained net's output barely varies)."""
    torch.manual_seed(0)
    config = Layout2ImConfig(10, embedding_dim=8, z_dim=8, conv_dim=8, n_residual=2,
                             d_conv_dim=8)
    model = config.build()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative average: one pass sets the statistics
            module.reset_running_stats()
    objs, _, masks, obj_to_img = batch()
    with torch.no_grad():
        model.train().generate(objs, masks, obj_to_img, torch.randn(5, 8))
    return model.eval()


def batch():
    objs = torch.tensor([1, 2, 3, 4, 5])
    obj_to_img = torch.tensor([0, 0, 0, 1, 1])
    boxes = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.5, 0.0, 1.0, 0.5], [0.2, 0.4, 0.8, 1.0],
                          [0.1, 0.1, 0.9, 0.6], [0.3, 0.5, 0.7, 0.9]])
    masks = torch.zeros(5, 1, 64, 64)
    for o, (x0, y0, x1, y1) in enumerate((boxes * 64).round().long().tolist()):
        masks[o, 0, y0:y1, x0:x1] = 1
    return objs, boxes, masks, obj_to_img


@torch.no_grad()
def test_seeded_z_reproducible_and_z_matters(small):
    objs, _, masks, obj_to_img = batch()
    z1 = small.sample_z(5, torch.Generator().manual_seed(3))
    z2 = small.sample_z(5, torch.Generator().manual_seed(3))
    z3 = small.sample_z(5, torch.Generator().manual_seed(4))
    assert torch.equal(z1, z2)
    a = small.generate(objs, masks, obj_to_img, z1)
    b = small.generate(objs, masks, obj_to_img, z2)
    c = small.generate(objs, masks, obj_to_img, z3)
    assert a.shape == (2, 3, 64, 64)
    assert torch.equal(a, b)
    assert (a - c).abs().mean() > 1e-3


@torch.no_grad()
def test_batching_matches_image_by_image(small):
    """Images with different object counts run padded together; results match running each
    image alone (the reference loops image by image)."""
    objs, _, masks, obj_to_img = batch()
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    together = small.generate(objs, masks, obj_to_img, z)
    zero3, zero2 = torch.zeros(3, dtype=torch.long), torch.zeros(2, dtype=torch.long)
    first = small.generate(objs[:3], masks[:3], zero3, z[:3])
    second = small.generate(objs[3:], masks[3:], zero2, z[3:])
    torch.testing.assert_close(together, torch.cat([first, second]), atol=1e-5, rtol=1e-5)
    swapped = small.generate(objs[[1, 0, 2]], masks[[1, 0, 2]], zero3, z[[1, 0, 2]])
    assert (swapped - first).abs().max() > 1e-4  # the ConvLSTM depends on object order


def test_obj_to_img_must_be_contiguous(small):
    assert object_counts(torch.tensor([0, 0, 1, 2, 2, 2])) == [2, 1, 3]
    for bad in ([0, 1, 0], [0, 2], [1, 1], []):
        with pytest.raises(ValueError):
            object_counts(torch.tensor(bad, dtype=torch.long))
    with pytest.raises(ValueError, match="1-D integer"):
        object_counts(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="3 entries for 2 objects"):
        object_counts(torch.tensor([0, 0, 1]), 2)
    objs, _, masks, _ = batch()
    with pytest.raises(ValueError, match="contiguous"):
        small.generate(objs, masks, torch.tensor([0, 1, 0, 1, 1]), torch.zeros(5, 8))


def test_generate_checks_shapes(small):
    objs, _, masks, obj_to_img = batch()
    with pytest.raises(ValueError, match="z must be"):
        small.generate(objs, masks, obj_to_img, torch.zeros(5, 7))
    with pytest.raises(ValueError, match="64x64"):
        small.generate(objs, masks[:, :, :32, :32], obj_to_img, torch.zeros(5, 8))


def test_training_forward_and_discriminators(small):
    objs, boxes, masks, obj_to_img = batch()
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))
    small.train()
    try:
        out = small(images, objs, boxes, masks, obj_to_img, z,
                    generator=torch.Generator().manual_seed(2))
    finally:
        small.eval()
    assert out.crops_input.shape == out.crops_rand.shape == (5, 3, 32, 32)
    assert out.img_rec.shape == out.img_rand.shape == (2, 3, 64, 64)
    assert out.mu.shape == out.logvar.shape == out.z_rand_rec.shape == (5, 8)
    assert len(tuple(out)) == 8
    torch.testing.assert_close(out.crops_input, crop_boxes(images, boxes, obj_to_img))
    image_d, object_d = ImageDiscriminator(8), ObjectDiscriminator(10, 8)
    assert image_d(out.img_rand).shape == (2,)
    src, cls = object_d(out.crops_rand)
    assert src.shape == (5,) and cls.shape == (5, 10)


# -- crops and value ranges --------------------------------------------------------------

def test_crop_of_the_left_half_of_a_gradient():
    columns = torch.arange(64, dtype=torch.float32)
    image = columns.view(1, 1, 1, 64).expand(1, 3, 64, 64).contiguous()
    crop = crop_boxes(image, torch.tensor([[0.0, 0.0, 0.5, 1.0]]), torch.tensor([0]), 32)
    assert crop.shape == (1, 3, 32, 32)
    # 32 samples from the left edge to the middle; align_corners=True puts edge 0 on the
    # centre of pixel 0 and the middle (0.5) on position 31.5, as the reference (torch 1.0).
    torch.testing.assert_close(crop[0, 0, 0], torch.linspace(0, 31.5, 32))
    assert torch.all(crop[0, :, :, 0] == 0)
    torch.testing.assert_close(crop[0, 0, 0], crop[0, 2, 17])  # constant down the columns
    modern = crop_boxes(image, torch.tensor([[0.0, 0.0, 0.5, 1.0]]), torch.tensor([0]), 32,
                        align_corners=False)
    assert not torch.allclose(modern, crop)


def test_crops_come_from_the_right_image():
    images = torch.stack([torch.full((3, 64, 64), float(i)) for i in range(3)])
    boxes = torch.tensor([[0.25, 0.25, 0.75, 0.75]] * 4)
    crops = crop_boxes(images, boxes, torch.tensor([0, 2, 2, 1]), 16)
    assert [c.mean().item() for c in crops] == [0.0, 2.0, 2.0, 1.0]


def test_to_unit_range_modes():
    torch.manual_seed(0)
    unit = torch.rand(2, 3, 8, 8) * 0.5 + 0.25
    normalised = imagenet_normalize(unit)
    torch.testing.assert_close(to_unit_range(normalised, "clamp"), unit)
    ref = to_unit_range(normalised * 3, "reference")
    for image in ref:
        assert image.min().item() == pytest.approx(0.0) and image.max().item() == pytest.approx(1.0)
    assert torch.all(to_unit_range(imagenet_normalize(torch.full((1, 3, 4, 4), 0.5))) == 0)
    assert to_unit_range(normalised * 10, "clamp").max() == 1.0
    with pytest.raises(ValueError):
        to_unit_range(normalised, "stretch")  # type: ignore[arg-type]


def test_generator_class_signature():
    with torch.device("meta"):
        g = Layout2ImGenerator(184, 64, 64, 3, 64)
    assert n_params(g) == 27_684_739
    with pytest.raises(ValueError):
        Layout2ImGenerator(184, image_size=50)
