"""lr_at: burn-in, then constant / cosine / linear decay."""

from __future__ import annotations

import itertools

import pytest

from hyptax.config import TrainConfig
from hyptax.errors import ConfigError
from hyptax.optim import SCHEDULES, lr_at


def test_burn_in_then_constant():
    lrs = [lr_at(e, lr=0.3, burn_in=3, burn_in_factor=0.1) for e in range(6)]
    assert lrs == pytest.approx([0.03, 0.03, 0.03, 0.3, 0.3, 0.3])
    assert lr_at(0, lr=0.3) == 0.3


def test_defaults_are_the_configs():
    config = TrainConfig()
    assert lr_at(0, lr=1.0, burn_in=1) == config.burn_in_factor
    assert lr_at(5, lr=1.0, burn_in=1) == lr_at(5, lr=1.0, burn_in=1, schedule=config.lr_schedule)


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_decay_runs_from_lr_to_final(schedule):
    kw = dict(lr=1.0, burn_in=2, burn_in_factor=0.01, schedule=schedule, epochs=12,
              final_factor=0.1)
    lrs = [lr_at(e, **kw) for e in range(14)]
    assert lrs[:2] == pytest.approx([0.01, 0.01])
    assert lrs[2] == pytest.approx(1.0)
    assert lrs[11] == pytest.approx(0.1) and lrs[13] == pytest.approx(0.1)
    assert all(a >= b for a, b in itertools.pairwise(lrs[2:]))
    mid = lrs[2 + 9 // 2 + 1] if schedule == "cosine" else lrs[7]
    assert 0.1 < mid < 1.0


def test_errors():
    assert set(SCHEDULES) == {"constant", "cosine", "linear"}
    with pytest.raises(ConfigError, match="constant, cosine, linear"):
        lr_at(0, lr=1.0, schedule="step")
    with pytest.raises(ConfigError, match="needs the number of epochs"):
        lr_at(5, lr=1.0, schedule="cosine")
