"""The shared Config range checks name the field, the value and what is allowed."""

import dataclasses

import pytest

from experiments import harness


@dataclasses.dataclass
class Config:
    steps: object = 10
    lr: object = 1e-3


@pytest.mark.parametrize("steps", [0, -1, 1.5, True, "3"])
def test_ints_at_least_rejects_non_integers_and_small_values(steps):
    with pytest.raises(ValueError, match=rf"Config\.steps={steps!r} is invalid: expected an "
                                         r"integer >= 1"):
        harness.ints_at_least(Config(steps=steps), 1, "steps")


@pytest.mark.parametrize("lr", [0.0, -1e-3, float("nan"), float("inf"), True, "1e-3"])
def test_positive_numbers_rejects_non_positive_and_non_finite(lr):
    with pytest.raises(ValueError, match=r"Config\.lr=.* is invalid: expected a finite number"):
        harness.positive_numbers(Config(lr=lr), "lr")


def test_valid_values_pass():
    harness.ints_at_least(Config(steps=0), 0, "steps")
    harness.positive_numbers(Config(lr=3), "lr")
    harness.positive_numbers(Config(lr=1e-9), "lr")
