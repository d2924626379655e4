"""The garbage-collector policy of the console-script process (imgtrans.cli.process): only a
process that ``main`` owns is touched; there, collections pause during start-up and resume,
with start-up's objects frozen, once the command says start-up is over."""

from __future__ import annotations

import gc

import pytest

from imgtrans.cli import process


@pytest.fixture
def collector():
    """Whatever a test does to the collector is undone."""
    yield
    gc.unfreeze()
    gc.enable()


def test_a_process_not_owned_keeps_pythons_defaults(monkeypatch, collector):
    monkeypatch.setattr(process, "_owned", False)
    frozen = gc.get_freeze_count()
    with process.startup() as started:
        assert gc.isenabled()
        started()
    process.freeze_survivors()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_an_owned_process_pauses_collections_until_started(monkeypatch, collector):
    monkeypatch.setattr(process, "_owned", True)
    with process.startup() as started:
        assert not gc.isenabled()
        made = [[] for _ in range(100)]  # start-up's objects
        started()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(made)
        started()  # once is enough; again does nothing
        assert gc.isenabled()
    assert gc.isenabled()


def test_collections_resume_when_start_up_fails(monkeypatch, collector):
    monkeypatch.setattr(process, "_owned", True)
    with pytest.raises(RuntimeError):
        with process.startup():
            assert not gc.isenabled()
            raise RuntimeError("no translator")
    assert gc.isenabled()


def test_collections_already_off_stay_as_they_are(monkeypatch, collector):
    monkeypatch.setattr(process, "_owned", True)
    gc.disable()
    with process.startup() as started:
        started()
        assert not gc.isenabled()
    assert not gc.isenabled()
