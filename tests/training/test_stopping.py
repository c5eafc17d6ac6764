import math

import pytest

from hyptax.training.stopping import EarlyStopping


def test_stops_after_patience_without_improvement():
    stop = EarlyStopping(patience=2, mode="min")
    assert [stop.update(m, e) for e, m in enumerate([5.0, 4.0, 4.5, 4.2])] == [
        False, False, False, True,
    ]  # fmt: skip
    assert (stop.best, stop.best_epoch, stop.bad_evals) == (4.0, 1, 2)


def test_improvement_resets_the_count_and_max_mode():
    stop = EarlyStopping(patience=2, mode="max")
    assert not stop.update(0.5, 1) and stop.improved
    assert not stop.update(0.4, 2) and not stop.improved
    assert not stop.update(0.6, 3) and stop.improved and stop.bad_evals == 0
    assert not stop.update(0.6, 4)  # equal is not better
    assert stop.update(0.55, 5)


def test_min_delta_and_nan():
    stop = EarlyStopping(patience=1, mode="min", min_delta=0.1)
    stop.update(1.0, 0)
    assert stop.update(0.95, 1)  # not better by more than 0.1
    stop = EarlyStopping(patience=3)
    stop.update(1.0, 0)
    stop.update(math.nan, 1)
    assert not stop.improved and stop.best == 1.0


def test_no_patience_never_stops_and_state_round_trips():
    stop = EarlyStopping(patience=None)
    for e in range(100):
        assert not stop.update(float(e), e)
    again = EarlyStopping.from_state_dict(stop.state_dict())
    assert again == stop
    with pytest.raises(ValueError):
        EarlyStopping(mode="up")
