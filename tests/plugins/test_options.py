"""``--opt key=value`` parsing and validation against an Options dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from imgtrans.errors import UsageError
from imgtrans.translators.options import build_options, describe_options, parse_option_pairs


@dataclass(frozen=True)
class Opts:
    direction: Literal["AtoB", "BtoA"] = field(default="AtoB", metadata={"help": "which way"})
    steps: int = 50
    strength: float = 0.5
    eval: bool = False
    mask: Optional[str] = None
    size: int = field(default=256, metadata={"choices": (128, 256)})

    def __post_init__(self):
        if not 0 <= self.strength <= 1:
            raise ValueError("strength must be in [0, 1]")


def test_parse_pairs():
    assert parse_option_pairs(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(UsageError, match="key=value"):
        parse_option_pairs(["novalue"])


def test_coercion_by_type():
    opts = build_options(Opts, {"direction": "BtoA", "steps": "20", "strength": "0.25",
                                "eval": "yes", "mask": "m.png", "size": "128"})
    assert opts == Opts("BtoA", 20, 0.25, True, "m.png", 128)
    assert build_options(Opts, {"mask": "none"}).mask is None
    assert build_options(Opts, {}) == Opts()


@pytest.mark.parametrize("values, message", [
    ({"directon": "AtoB"}, "did you mean direction"),
    ({"nope": "1"}, "valid options: direction, steps, strength, eval, mask, size"),
    ({"direction": "sideways"}, "choose one of: AtoB, BtoA"),
    ({"steps": "many"}, "expected int"),
    ({"eval": "maybe"}, "expected bool"),
    ({"size": "64"}, "choose one of: 128, 256"),
    ({"strength": "2"}, "strength must be in"),
])
def test_errors_name_the_valid_choices(values, message):
    with pytest.raises(UsageError, match=message):
        build_options(Opts, values, translator="demo")


def test_describe_options():
    infos = {o.name: o for o in describe_options(Opts)}
    assert infos["direction"].choices == ("AtoB", "BtoA") and infos["direction"].help == "which way"
    assert infos["steps"].type == "int" and infos["steps"].default == 50
    assert infos["mask"].type == "str"
