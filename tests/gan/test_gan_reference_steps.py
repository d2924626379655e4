"""pix2pix and CycleGAN training, step for step against the reference implementation.

Runs only when ``IMGTRANS_REFERENCE_CYCLEGAN`` names a work tree of
junyanz/pytorch-CycleGAN-and-pix2pix (never part of this repository): its model code is
imported at run time by bench/reference_train.py, which builds both sides from the same
options and initial weights and feeds them the same tiny batches. Three steps must leave every
parameter, loss and batch-norm running statistic bit-identical, and every epoch of the
100 + 100 schedule must train at the rate the checkout's own train.py gives it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from imgtrans_testenv import ROOT

CHECKOUT = os.environ.get("IMGTRANS_REFERENCE_CYCLEGAN")
pytestmark = [
    pytest.mark.skipif(not CHECKOUT, reason="set IMGTRANS_REFERENCE_CYCLEGAN to a work tree of "
                       "junyanz/pytorch-CycleGAN-and-pix2pix to compare training with it"),
    pytest.mark.usefixtures("one_torch_thread"),
]

sys.path.insert(0, str(ROOT / "bench"))
import reference_train  # noqa: E402


@pytest.fixture(scope="module")
def checkout():
    path = Path(CHECKOUT).expanduser().resolve()
    missing = [f for f in ("train.py", "models/networks.py", "util/image_pool.py") if not (path / f).is_file()]
    assert not missing, f"IMGTRANS_REFERENCE_CYCLEGAN={path} lacks {missing}"
    return path


@pytest.mark.parametrize("case", sorted(reference_train.CASES))
def test_three_steps_are_bit_identical(checkout, case):
    records = reference_train.compare_steps(reference_train.CASES[case], checkout, steps=3)
    for step, record in enumerate(records, 1):
        assert record["ours"] == record["reference"], (step, record["ours"], record["reference"])
        for name, net in record["networks"].items():
            assert net["params"] == 0 and net["running"] in (0, None), (step, name, net)
            assert net["counts"] in (True, None) and net["same"], (step, name, net)


def test_every_epoch_has_the_reference_learning_rate(checkout):
    result = reference_train.compare_schedules(checkout)
    differ = [e for e, (a, b) in enumerate(zip(result["ours"], result["reference"]), 1) if a != b]
    assert not differ, (f"the checkout's train.py steps the schedule {result['position']} each epoch's "
                        f"steps; imgtrans after: epochs {differ[0]}..{differ[-1]} differ")


def test_the_reference_modules_leave_the_process_as_they_found_it(checkout):
    before = {name for name in sys.modules if name.split(".")[0] in ("models", "util")}
    with reference_train.reference_imported(checkout) as reference:
        assert Path(reference.networks.__file__).resolve().is_relative_to(checkout)
    assert {name for name in sys.modules if name.split(".")[0] in ("models", "util")} == before
