"""Hub model folders (registry entries with ``repo``) are downloaded with huggingface_hub.

A local fake of the Hub HTTP API stands in for huggingface.co, so nothing here touches the
internet; huggingface_hub's import-time settings (endpoint, cache, offline flag) are patched
per test and restored by monkeypatch.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("huggingface_hub")
pytest.importorskip("safetensors")

from huggingface_hub import constants  # noqa: E402
from safetensors.numpy import save as save_safetensors  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from imgtrans.errors import WeightsError  # noqa: E402
from imgtrans.translators.base import WeightSpec  # noqa: E402
from imgtrans.weights.hub import fetch_hub_folder, find_hub_folder, select_files  # noqa: E402
from imgtrans.weights.resolve import is_cached, local_path_for_spec  # noqa: E402

REPO = "test-org/tiny-ddpm"
SHA = "0123456789abcdef0123456789abcdef01234567"
SPEC = WeightSpec("sdedit.tiny", repo=REPO, description="tiny fake diffusers folder")


def _tiny_folder() -> dict[str, bytes]:
    """A diffusers-like repo: what we want plus files that must never be fetched."""
    import numpy as np

    weights = save_safetensors({"conv.weight": np.ones((2, 3), dtype=np.float32),
                                "conv.bias": np.zeros(2, dtype=np.float32)})
    return {
        "model_index.json": json.dumps({"_class_name": "DDPMPipeline",
                                        "scheduler": ["diffusers", "DDPMScheduler"],
                                        "unet": ["diffusers", "UNet2DModel"]}).encode(),
        "unet/config.json": json.dumps({"_class_name": "UNet2DModel", "sample_size": 8}).encode(),
        "unet/diffusion_pytorch_model.safetensors": weights,
        "unet/diffusion_pytorch_model.bin": b"pickle: not wanted when safetensors exist",
        "scheduler/scheduler_config.json": json.dumps({"_class_name": "DDPMScheduler"}).encode(),
        "pipeline.py": b"raise SystemExit('code must never be downloaded')",
        "extra.pkl": b"pickle",
        "old.ckpt": b"pickle",
        "README.md": b"# tiny",
    }


@dataclass
class FakeHub:
    """Serves one repo the way huggingface.co does, as far as ``snapshot_download`` asks:

    * ``GET /api/models/{repo}[/revision/{rev}]``: JSON with ``sha`` and ``siblings``
    * ``GET /api/models/{repo}/tree/{rev}?recursive=..``: the file listing (``oid``, ``size``,
      ``lfs`` for weights; no ``xetHash``)
    * ``HEAD`` / ``GET /{repo}/resolve/{rev}/{path}``: ``X-Repo-Commit``, ``ETag``,
      ``Content-Length`` (no ``X-Xet-*`` headers, so plain HTTP is used)
    """

    base: str
    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    """URL path prefix → HTTP status to answer instead."""

    def paths(self, prefix: str) -> list[str]:
        return [r.split(" ", 1)[1] for r in self.requests if r.split(" ", 1)[1].startswith(prefix)]


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _etag(path: str, data: bytes) -> str:
    lfs = path.endswith((".safetensors", ".bin"))
    return hashlib.sha256(data).hexdigest() if lfs else _git_oid(data)


def _tree_entry(path: str, data: bytes) -> dict:
    entry = {"type": "file", "path": path, "size": len(data), "oid": _git_oid(data)}
    if path.endswith((".safetensors", ".bin")):
        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
    return entry


@pytest.fixture(autouse=True)
def watchdog():
    """Bound each test: a hang dumps the stacks and ends the run instead of waiting forever
    (huggingface_hub makes some API calls without a timeout)."""
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def hf_env(tmp_path, monkeypatch):
    """An empty Hugging Face home and cache, online, no token, xet off. huggingface_hub reads
    these at import time into ``constants``, so both the variables and the constants are set."""
    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_PROGRESS_BARS", True)
    return home / "hub"


@pytest.fixture
def hub(hf_env, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = FakeHub(base=f"http://127.0.0.1:{server.server_address[1]}", files=_tiny_folder())

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a stuck client cannot hold the server

        def _answer(self, head: bool) -> None:
            state.requests.append(f"{self.command} {self.path}")
            path = unquote(urlsplit(self.path).path)
            status = next((s for p, s in state.fail.items() if path.startswith(p)), None)
            if status is not None:
                self.send_error(status)
                return
            api = f"/api/models/{REPO}"
            resolve = f"/{REPO}/resolve/"
            if path in (api, f"{api}/revision/main", f"{api}/revision/{SHA}"):
                body = json.dumps({"id": REPO, "sha": SHA, "private": False,
                                   "siblings": [{"rfilename": p} for p in state.files]}).encode()
                self._send(body, {"Content-Type": "application/json"}, head)
            elif path == f"{api}/tree/{SHA}":
                body = json.dumps([_tree_entry(p, d) for p, d in state.files.items()]).encode()
                self._send(body, {"Content-Type": "application/json"}, head)
            elif path.startswith(resolve) and path[len(resolve):].split("/", 1)[0] in ("main", SHA):
                name = path[len(resolve):].split("/", 1)[1]
                data = state.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                self._send(data, {"X-Repo-Commit": SHA, "ETag": f'"{_etag(name, data)}"'}, head)
            else:
                self.send_error(404)

        def _send(self, body: bytes, headers: dict[str, str], head: bool) -> None:
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (http.server naming)
            self._answer(head=False)

        def do_HEAD(self):  # noqa: N802
            self._answer(head=True)

        def log_message(self, *args):
            pass

    server.RequestHandlerClass = Handler
    monkeypatch.setenv("HF_ENDPOINT", state.base)
    monkeypatch.setattr(constants, "ENDPOINT", state.base)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        state.base + "/{repo_id}/resolve/{revision}/{filename}")
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)

    state.stop = stop  # type: ignore[attr-defined]
    yield state
    stop()


WANTED = ["model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
          "unet/diffusion_pytorch_model.safetensors"]


def _files(folder) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_select_files_prefers_safetensors_and_skips_code():
    assert select_files(_tiny_folder()) == WANTED
    only_bin = ["config.json", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin",
                "setup.py", "model.ckpt"]
    assert select_files(only_bin) == ["config.json", "diffusion_pytorch_model.bin"]
    variants = ["unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.bin"]
    assert select_files(variants) == ["unet/diffusion_pytorch_model.bin"]


def test_spec_with_repo_downloads_the_folder_then_works_offline(hub, hf_env):
    assert not is_cached(SPEC)
    folder = local_path_for_spec(SPEC)
    assert folder.is_dir() and folder.is_relative_to(hf_env)
    assert _files(folder) == WANTED
    tiny = _tiny_folder()
    for name in WANTED:
        assert (folder / name).read_bytes() == tiny[name]
    fetched = {p.split(f"/resolve/{SHA}/", 1)[1] for p in hub.paths(f"/{REPO}/resolve/")}
    assert fetched == set(WANTED)  # never pipeline.py, *.pkl, *.ckpt, nor the .bin twin
    assert is_cached(SPEC) and find_hub_folder(REPO) == folder

    hub.stop()
    seen = len(hub.requests)
    assert local_path_for_spec(SPEC) == folder
    assert local_path_for_spec(SPEC, download_ok=False) == folder
    assert len(hub.requests) == seen


def test_not_downloaded_and_download_not_allowed(hub):
    with pytest.raises(WeightsError) as info:
        local_path_for_spec(SPEC, download_ok=False)
    text = str(info.value)
    assert f"`hf download {REPO}`" in text and "--weights DIR" in text
    assert "imgtrans weights fetch sdedit.tiny" in text
    assert hub.requests == []


@pytest.mark.parametrize("fail", [{f"/api/models/{REPO}": 500},
                                  {f"/{REPO}/resolve/{SHA}/unet/diffusion_pytorch_model.safetensors": 404}],
                         ids=["api-500", "file-404"])
def test_server_errors_leave_nothing_that_counts_as_cached(hub, hf_env, fail):
    hub.fail.update(fail)
    with pytest.raises(WeightsError) as info:
        fetch_hub_folder(REPO, "sdedit.tiny")
    partial = hf_env / "models--test-org--tiny-ddpm" / "snapshots" / SHA
    assert partial.is_dir() == ("resolve" in next(iter(fail)))  # configs in, weights missing
    text = str(info.value)
    status = str(next(iter(fail.values())))
    assert "could not download weights 'sdedit.tiny'" in text and REPO in text and status in text
    assert f"`hf download {REPO}`" in text and "--weights DIR" in text
    assert find_hub_folder(REPO) is None and not is_cached(SPEC)
    with pytest.raises(WeightsError):
        local_path_for_spec(SPEC, download_ok=False)

    hub.fail.clear()  # the Hub is back: the download completes
    folder = fetch_hub_folder(REPO, "sdedit.tiny")
    assert _files(folder) == WANTED and is_cached(SPEC)


@pytest.mark.parametrize("how", ["env", "constants"])
def test_hf_hub_offline_is_respected(hub, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WeightsError) as info:
        local_path_for_spec(SPEC)
    text = str(info.value)
    assert "HF_HUB_OFFLINE" in text and f"`hf download {REPO}`" in text
    assert hub.requests == []


def test_cli_fetch_downloads_a_hub_entry(hub, monkeypatch):
    from imgtrans.cli.weights import weights_app

    monkeypatch.setattr("imgtrans.plugins.manager.known_weight_specs", lambda: [SPEC])
    runner = CliRunner()
    result = runner.invoke(weights_app, ["path", "sdedit.tiny"])
    assert result.exit_code == 5 and hub.requests == []
    result = runner.invoke(weights_app, ["fetch", "sdedit.tiny"])
    assert result.exit_code == 0, result.output
    folder = find_hub_folder(REPO)
    assert folder is not None and result.stdout.strip() == str(folder)
    hub.stop()
    result = runner.invoke(weights_app, ["path", "sdedit.tiny"])
    assert result.exit_code == 0 and result.stdout.strip() == str(folder)
    rows = json.loads(runner.invoke(weights_app, ["list", "--json"]).stdout)
    assert rows[0]["cached"] is True and rows[0]["path"] == str(folder)


# -- pipeline repos (Stable Diffusion): what model_index.json names, nothing else ------------------

def _sd_repo() -> dict[str, bytes]:
    """A Stable Diffusion repo as the Hub holds it: components, optional components, the
    single-file checkpoints at the top level, fp16 variants, pickles and code."""
    import numpy as np

    weights = save_safetensors({"w": np.ones(3, dtype=np.float32)})
    half = save_safetensors({"w": np.ones(3, dtype=np.float16)})
    index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
             "feature_extractor": ["transformers", "CLIPImageProcessor"],
             "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
             "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
             "vae": ["diffusers", "AutoencoderKL"], "image_encoder": [None, None],
             "requires_safety_checker": True}
    files = {"model_index.json": json.dumps(index).encode(), "README.md": b"# sd",
             "v1-5-pruned-emaonly.safetensors": weights, "v1-5-pruned.ckpt": b"pickle",
             "v1-inference.yaml": b"model: {}", "pipeline.py": b"raise SystemExit('code')",
             "feature_extractor/preprocessor_config.json": b"{}",
             "safety_checker/config.json": b"{}", "safety_checker/model.safetensors": weights,
             "scheduler/scheduler_config.json": b'{"_class_name": "PNDMScheduler"}',
             "tokenizer/merges.txt": b"#version: 0.2\n", "tokenizer/vocab.json": b"{}",
             "tokenizer/special_tokens_map.json": b"{}", "tokenizer/tokenizer_config.json": b"{}",
             "text_encoder/config.json": b"{}", "text_encoder/model.safetensors": weights,
             "text_encoder/model.fp16.safetensors": half, "text_encoder/pytorch_model.bin": b"pickle",
             "unet/config.json": b"{}", "unet/diffusion_pytorch_model.safetensors": weights,
             "unet/diffusion_pytorch_model.fp16.safetensors": half,
             "unet/diffusion_pytorch_model.non_ema.safetensors": weights, "unet/custom.py": b"code",
             "vae/config.json": b"{}", "vae/diffusion_pytorch_model.bin": b"pickle: only format here"}
    return files


SD_WANTED = ["model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
             "text_encoder/model.safetensors", "tokenizer/merges.txt", "tokenizer/special_tokens_map.json",
             "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "unet/config.json",
             "unet/diffusion_pytorch_model.safetensors", "vae/config.json", "vae/diffusion_pytorch_model.bin"]


def test_select_files_of_a_pipeline_follows_its_index():
    files = _sd_repo()
    index = json.loads(files["model_index.json"])
    assert select_files(files, index) == SD_WANTED
    half = select_files(files, index, variant="fp16")
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in half
    assert "text_encoder/model.fp16.safetensors" in half and "text_encoder/model.safetensors" not in half
    assert "vae/diffusion_pytorch_model.bin" in half  # no fp16 there: the plain file
    flat = {"model_index.json": b"{}", "config.json": b"{}", "scheduler_config.json": b"{}",
            "diffusion_pytorch_model.safetensors": b""}  # google/ddpm-*: no component folders
    assert select_files(flat, {"unet": ["diffusers", "UNet2DModel"]}) == sorted(flat)


def test_pipeline_repo_downloads_what_its_index_names(hub, hf_env):
    hub.files = _sd_repo()
    folder = fetch_hub_folder(REPO, "sdedit.tiny_sd")
    assert _files(folder) == SD_WANTED
    fetched = {p.split("/resolve/", 1)[1].split("/", 1)[1] for p in hub.paths(f"/{REPO}/resolve/")}
    assert fetched == set(SD_WANTED)  # no checkpoint, safety checker, fp16 twin, pickle or code
    assert find_hub_folder(REPO) == folder
    assert find_hub_folder(REPO, variant="fp16") is None  # the fp16 files are not there yet
    half = fetch_hub_folder(REPO, "sdedit.tiny_sd", variant="fp16")
    assert (half / "unet" / "diffusion_pytorch_model.fp16.safetensors").is_file()
    hub.stop()
    assert find_hub_folder(REPO) == folder and find_hub_folder(REPO, variant="fp16") == half
