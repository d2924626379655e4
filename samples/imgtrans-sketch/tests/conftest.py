"""Let the tests import the sample without installing it, and register it per test.

``imgtrans.testing.plugin_host`` registers the package by hand (not through the entry
point), so the tests work from a plain checkout, and autoloads no other installed plugin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1]
if str(SAMPLE) not in sys.path:
    sys.path.insert(0, str(SAMPLE))


@pytest.fixture
def sample_host():
    """A fresh plugin host with the built-ins and this package's translators."""
    import imgtrans_sketch
    from imgtrans.testing import plugin_host

    with plugin_host(imgtrans_sketch) as host:
        yield host
