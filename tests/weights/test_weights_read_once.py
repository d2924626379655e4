"""From ``--weights`` to a loaded translator, every file is read once and every checkpoint
description parsed once: identification and loading share what resolution read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import imgtrans
from imgtrans import checkpoints
from imgtrans.weights import safe_load


@pytest.fixture
def counted(monkeypatch):
    """Counts of weights files read (by path) and of checkpoint descriptions parsed."""
    reads: Counter[str] = Counter()
    real_load, real_parse = safe_load._load_any, checkpoints._from_meta

    def load(path):
        reads[Path(path).name] += 1
        return real_load(path)

    def parse(folder, meta):
        reads["imgtrans.json"] += 1
        return real_parse(folder, meta)

    monkeypatch.setattr(safe_load, "_load_any", load)
    monkeypatch.setattr(checkpoints, "_from_meta", parse)
    return reads


def tiny_sr_network():
    from imgtrans_srgan.archs import SRConfig

    config = SRConfig(arch="srvgg", num_feat=8, num_block=1, scale=2, act_type="prelu")
    torch.manual_seed(0)
    net = config.build()
    return net, config


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    return folder


def converted(inputs, out, **settings):
    report = imgtrans.convert(inputs, out, device="cpu", **settings)
    assert [item.status for item in report.items] == ["done"] * 3, report.items
    return {p.name: cv2.imread(str(p)) for p in sorted(out.iterdir())}


@pytest.mark.parametrize("plugin", [None, "srgan"])
def test_a_foreign_file_is_read_once(tmp_path, inputs, counted, plugin):
    net, _ = tiny_sr_network()
    torch.save({"params_ema": net.state_dict()}, tmp_path / "tiny_x2.pth")
    images = converted(inputs, tmp_path / "out", plugin=plugin, weights=str(tmp_path / "tiny_x2.pth"))
    assert counted == Counter({"tiny_x2.pth": 1})
    assert all(image.shape == (24, 20, 3) for image in images.values())


@pytest.mark.parametrize("plugin", [None, "srgan"])
def test_a_checkpoint_folder_is_parsed_and_read_once(tmp_path, inputs, counted, plugin):
    net, config = tiny_sr_network()
    run = tmp_path / "run"
    checkpoints.write_checkpoint(run / "checkpoints" / "latest", "srgan", {"G": net},
                                 {"G": config.to_dict()}, step=1)
    counted.clear()
    converted(inputs, tmp_path / "out", plugin=plugin, weights=str(run))
    assert counted == Counter({"imgtrans.json": 1, "G.safetensors": 1})


def test_identification_and_loading_agree(tmp_path, inputs):
    """The same file, identified (no --plugin) or named, gives the same network's output."""
    net, _ = tiny_sr_network()
    torch.save(net.state_dict(), tmp_path / "tiny.pth")
    found = converted(inputs, tmp_path / "found", weights=str(tmp_path / "tiny.pth"))
    named = converted(inputs, tmp_path / "named", plugin="srgan", weights=str(tmp_path / "tiny.pth"))
    assert found.keys() == named.keys()
    assert all(np.array_equal(found[k], named[k]) for k in found)
    # and the network is the file's: a direct forward gives the same pixels
    image = cv2.imread(str(inputs / "0.png"))[..., ::-1].astype(np.float32) / 255
    with torch.no_grad():
        direct = net.eval()(torch.from_numpy(image.copy()).permute(2, 0, 1)[None]).clamp(0, 1)
    expected = (direct[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)[..., ::-1]
    assert np.abs(found["0.png"].astype(int) - expected).max() <= 1


def test_networks_are_built_on_meta_and_hold_the_files_tensors(tmp_path):
    """``build_network``: no random initialisation (the tensors are the file's, assigned),
    dtypes as the network declares (an fp16 file comes out fp32), strict errors."""
    from imgtrans.plugin import WeightsError, build_network

    net, config = tiny_sr_network()
    state = {k: v.half() for k, v in net.state_dict().items()}
    built = build_network(config, state)
    assert not any(t.is_meta for t in built.state_dict().values())
    assert all(v.dtype == torch.float32 for v in built.state_dict().values())
    assert all(torch.equal(built.state_dict()[k], v.float()) for k, v in state.items())
    assert not built.training
    same = {k: v.clone() for k, v in net.state_dict().items()}
    first = next(iter(same))
    assert build_network(config, same).state_dict()[first].data_ptr() == same[first].data_ptr()
    with pytest.raises(WeightsError, match="1 missing key"):
        build_network(config, {k: v for k, v in same.items() if k != first})


def test_resolved_weights_pickle_without_their_tensors(tmp_path):
    """Ray ships the recipe to actors: the state dict read while resolving stays here."""
    import pickle

    from imgtrans.loading import resolve_weights_for

    net, _ = tiny_sr_network()
    torch.save(net.state_dict(), tmp_path / "tiny.pth")
    weights = resolve_weights_for(str(tmp_path / "tiny.pth"))
    assert weights.owner == "srgan" and weights.kind == "file"
    assert weights._state is not None  # identification read it
    copy = pickle.loads(pickle.dumps(weights))
    assert copy._state is None and copy.path == weights.path and copy.owner == "srgan"
    assert Path(copy) == tmp_path / "tiny.pth"
