"""Shared fixtures. Tests never see plugins installed in the environment (hermetic), never
touch the user's cache, and make their own images."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests" / "support"))
from imgtrans_testenv import IMPORT_PATHS  # noqa: E402

# Set before anything loads plugins; subprocesses inherit it.
os.environ["IMGTRANS_LOAD_PLUGINS"] = ""
os.environ.pop("IMGTRANS_DISABLE_PLUGINS", None)
os.environ.pop("IMGTRANS_PLUGINS", None)
os.environ["HF_HUB_OFFLINE"] = "1"  # no test may reach the Hugging Face Hub; hub tests use a local server
for path in IMPORT_PATHS:
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("IMGTRANS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    # offline switches as the session starts, whatever a test (e.g. `imgtrans serve`) set
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("IMGTRANS_OFFLINE", raising=False)
    from imgtrans.plugins import manager

    manager.reset()
    yield
    manager.reset()


@pytest.fixture
def host():
    """A fresh plugin host with the built-ins and the example sketch plugin registered."""
    import imgtrans_sketch

    from imgtrans.plugins import manager

    h = manager.get_host()
    h.register(imgtrans_sketch, name="imgtrans_sketch", source="test")
    return h


@pytest.fixture
def test_translators(host):
    """The host plus the translators of tests/support/imgtrans_testplugins.py."""
    import imgtrans_testplugins

    host.register(imgtrans_testplugins, name="imgtrans_testplugins", source="test")
    return host


@pytest.fixture
def register_plugin():
    """Register throwaway plugin objects for one test: ``register_plugin(obj, "name")``."""
    from imgtrans.plugins import manager

    def register(obj, name):
        return manager.get_host().register(obj, name=name, source="test")

    return register


@pytest.fixture
def one_torch_thread():
    """For compute-heavy test modules (``pytestmark = pytest.mark.usefixtures(...)``): on a
    shared CPU one torch thread is faster than two fighting over busy cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
