"""Let the tests import the sample without installing it, and register it per test.

Registering by hand (not through the entry point) keeps the tests working from a plain
checkout, and with ``IMGTRANS_LOAD_PLUGINS=""`` no other installed plugin gets in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1]
if str(SAMPLE) not in sys.path:
    sys.path.insert(0, str(SAMPLE))


@pytest.fixture
def sample_host(monkeypatch):
    """A fresh plugin host with the built-ins and this package's translators."""
    import imgtrans_sketch
    from imgtrans.plugins import manager

    monkeypatch.setenv("IMGTRANS_LOAD_PLUGINS", "")
    manager.reset()
    host = manager.get_host()
    host.register(imgtrans_sketch, name="imgtrans_sketch", source="test")
    yield host
    manager.reset()
