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
    assert not stop.update(0.6, 4)  # equal is not better without a tiebreak
    assert stop.update(0.55, 5)


def test_tie_and_nan():
    stop = EarlyStopping(patience=1, mode="min", tie=0.1)
    stop.update(1.0, 0)
    assert stop.update(0.95, 1)  # not better by more than 0.1
    stop = EarlyStopping(patience=3)
    stop.update(1.0, 0, tiebreak=5.0)
    stop.update(math.nan, 1, tiebreak=1.0)
    assert not stop.improved and stop.best == 1.0
    stop.update(1.0, 2, tiebreak=math.nan)  # a NaN tiebreak wins no tie
    assert not stop.improved and stop.best_tiebreak == 5.0


def test_the_start_is_best_when_nothing_beats_it():
    """The construction (epoch 0) stays best while training lowers MAP, even with a
    far better mean rank: MAP comes first."""
    stop = EarlyStopping(patience=3, mode="max", tie=0.001)
    history = [(0.950, 70.8), (0.90, 6.8), (0.91, 5.9), (0.917, 5.25)]
    stops = [stop.update(m, e, tiebreak=r) for e, (m, r) in enumerate(history)]
    assert stops == [False, False, False, True]
    assert (stop.best_epoch, stop.best, stop.best_tiebreak) == (0, 0.950, 70.8)


def test_a_higher_map_wins_and_near_ties_go_to_the_lower_mean_rank():
    stop = EarlyStopping(patience=None, mode="max", tie=0.001)
    stop.update(0.950, 0, tiebreak=70.0)
    assert stop.update(0.960, 1, tiebreak=80.0) is False and stop.improved  # MAP first
    stop.update(0.9595, 2, tiebreak=4.0)  # a near-tie with a lower mean rank
    assert stop.improved and (stop.best_epoch, stop.best_tiebreak) == (2, 4.0)
    stop.update(0.9605, 3, tiebreak=4.5)  # a near-tie with a higher one
    assert not stop.improved
    stop.update(0.962, 4, tiebreak=9.0)  # better by more than the tie
    assert stop.improved and stop.best_epoch == 4


def test_near_ties_cannot_walk_map_down():
    """Each evaluation is within the tie of the one before, with a lower mean rank,
    but only those within the tie of the highest best MAP count."""
    stop = EarlyStopping(patience=None, mode="max", tie=0.01)
    for e, m in enumerate([0.90, 0.895, 0.889, 0.883, 0.877]):
        stop.update(m, e, tiebreak=10.0 - e)
    assert (stop.best, stop.best_epoch, stop.peak) == (0.895, 1, 0.90)


def test_no_patience_never_stops_and_state_round_trips():
    stop = EarlyStopping(patience=None)
    for e in range(100):
        assert not stop.update(float(e), e, tiebreak=1.0)
    again = EarlyStopping.from_state_dict(stop.state_dict())
    assert again == stop
    with pytest.raises(ValueError):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError):
        EarlyStopping(tie=-1.0)


def test_the_state_of_older_versions_loads():
    """Before the tiebreak: ``min_delta``, no peak, no tiebreak."""
    old = {"patience": 3, "mode": "min", "min_delta": 0.0, "best": 2.5, "best_epoch": 4,
           "bad_evals": 1, "improved": False}  # fmt: skip
    stop = EarlyStopping.from_state_dict(old)
    assert (stop.tie, stop.peak, stop.best_tiebreak, stop.bad_evals) == (0.0, 2.5, None, 1)
    assert not stop.update(2.6, 5)  # worse
    assert stop.update(2.5, 6) and stop.bad_evals == 3  # equal: a tie, no tiebreak
    again = EarlyStopping.from_state_dict(old)
    assert not again.update(2.4, 5) and again.improved and again.peak == 2.4
