import os
import pickle

import pytest
import torch

from imgtrans.errors import WeightsError
from imgtrans.weights.safe_load import load_metadata, load_state_dict, save_state_dict


class RunsShell:
    """Unpickling this runs a shell command: what a booby-trapped checkpoint does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_payload_is_live(tmp_path):
    """Guard for the test below: plain unpickling really does run the command."""
    canary = tmp_path / "canary"
    pickle.loads(pickle.dumps(RunsShell(f"touch {canary}")))
    assert canary.exists()


@pytest.mark.parametrize("fmt", ["torch-zip", "legacy-pickle"])
def test_malicious_checkpoint_is_refused_without_running_code(tmp_path, fmt):
    pwned = tmp_path / "pwned"
    payload = {"weight": torch.zeros(2), "evil": RunsShell(f"touch {pwned}")}
    path = tmp_path / "evil.pth"
    if fmt == "torch-zip":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(WeightsError) as info:
        load_state_dict(path)
    message = str(info.value)
    assert str(path) in message
    assert "objects other than tensors" in message and "refused for safety" in message
    assert not pwned.exists()


def test_pickle_round_trip_and_wrapped_checkpoints(tmp_path):
    state = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4)}
    path = tmp_path / "plain.pth"
    torch.save(state, path)
    loaded = load_state_dict(path)
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    torch.save({"state_dict": state, "epoch": 3}, path)
    assert load_state_dict(path)["epoch"] == 3


def test_bare_tensor_is_not_a_state_dict(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(WeightsError, match="holds a Tensor, not a dict"):
        load_state_dict(path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken"])
def test_garbage_is_a_clear_error(tmp_path, content):
    path = tmp_path / "garbage.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="not a readable checkpoint"):
        load_state_dict(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_state_dict(tmp_path / "absent.pth")
    with pytest.raises(WeightsError, match="is a folder"):
        load_state_dict(tmp_path)


def test_safetensors_round_trip_with_metadata(tmp_path):
    base = torch.randn(6, 4)
    tensors = {"a": base, "tied": base, "view": base[1:3], "t": base.t(), "half": torch.ones(2).half()}
    path = tmp_path / "out" / "model.safetensors"
    meta = {"plugin": "pix2pix", "preprocessing": {"value_range": [-1, 1]}}
    assert save_state_dict(tensors, path, meta) == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.safetensors"]
    loaded = load_state_dict(path)
    assert loaded.keys() == tensors.keys()
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    assert loaded["half"].dtype == torch.float16
    assert load_metadata(path) == {"plugin": "pix2pix", "preprocessing": '{"value_range": [-1, 1]}'}


def test_safetensors_detected_by_content(tmp_path):
    path = tmp_path / "model.safetensors"
    save_state_dict({"w": torch.arange(3.0)}, path)
    renamed = path.rename(tmp_path / "model.bin")
    assert torch.equal(load_state_dict(renamed)["w"], torch.arange(3.0))


def test_corrupt_safetensors(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        load_state_dict(path)


def test_failed_save_leaves_nothing(tmp_path):
    with pytest.raises(Exception):
        save_state_dict({"w": "not a tensor"}, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_non_finite_weights_are_refused_by_name(tmp_path):
    import torch

    from imgtrans.weights import save_state_dict

    path = save_state_dict({"ok": torch.ones(3), "conv.weight": torch.tensor([1.0, float("nan")])},
                           tmp_path / "nan.safetensors")
    with pytest.raises(WeightsError, match=r"nan.safetensors holds non-finite values.*conv.weight"):
        load_state_dict(path)
    torch.save({"params_ema": {"w": torch.tensor([float("inf")])}}, tmp_path / "inf.pth")
    with pytest.raises(WeightsError, match="params_ema.w"):
        load_state_dict(tmp_path / "inf.pth")


def test_a_fifo_is_not_a_missing_file(tmp_path):
    import os

    os.mkfifo(tmp_path / "w.pth")
    with pytest.raises(WeightsError, match="not a regular file"):
        load_state_dict(tmp_path / "w.pth")
