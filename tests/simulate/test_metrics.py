"""Intervals and aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.simulate.metrics import interval, range_of, summarise, wait_distribution


def test_interval_student_t():
    mean, lo, hi = interval([1.0, 2.0, 3.0])
    # t(0.975, 2) = 4.302653; sd = 1; half = 4.302653 / sqrt(3)
    assert mean == 2.0
    assert hi - mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    assert lo == pytest.approx(2 * mean - hi)
    assert interval([5.0]) == (5.0, None, None)
    assert interval([float("nan"), 2.0, 2.0])[1:] == (2.0, 2.0)


def test_an_interval_stays_within_what_the_quantity_can_take():
    # two replications: t(0.975, 1) = 12.7 makes the whole interval [-12.1, 17.1]
    mean, lo, hi = interval([0.5, 4.5], range_of("days_waited"))
    assert (mean, lo) == (2.5, 0.0)
    assert hi == pytest.approx(2.5 + 12.7062047 * 2.0 * np.sqrt(2) / np.sqrt(2), rel=1e-6)
    assert interval([0.9, 0.99, 0.6], range_of("utilisation"))[2] == 1.0
    # a difference between policies may be negative: no range, no cut
    assert interval([-3.0, 1.0])[1] < -3.0


def test_the_summary_shows_no_negative_people_days_or_pounds():
    import pandas as pd

    values = pd.DataFrame({"policy": ["a", "a"], "replication": [0, 1]})
    for m, (x, y) in {"waiting_people": (0.0, 9.0), "days_waited": (0.2, 5.0),
                      "days_waited_p90": (1.0, 11.0), "moves": (0.0, 1.0),
                      "utilisation": (0.5, 0.99)}.items():
        values[m] = [x, y]
    from allocator.simulate.metrics import METRICS
    for m in METRICS:
        if m not in values:
            values[m] = [1.0, 3.0]
    entry = summarise(values, ["a"])["a"]
    for key, ci in entry.items():
        if key.endswith("_ci95"):
            assert ci[0] >= 0.0, key
    assert entry["utilisation_mean_ci95"][1] == 1.0


def test_wait_distribution_shares():
    waits = np.array([[0, 0, 0, 1, 0], [1, 0, 3, 1, 0], [2, 0, 3, 1, 0], [2, 0, 9, 0, 0]])
    table = wait_distribution([("p", waits)], ["p"])
    assert table["placements"].sum() == 3  # the last wait ended unplaced
    assert table.loc[table["days_waited"] == "3-4", "share"].item() == pytest.approx(2 / 3)


def test_differences_of_one_policy_is_an_empty_table():
    import pandas as pd

    from allocator.simulate.metrics import METRICS, differences

    values = pd.DataFrame([{"policy": "a", "replication": 0, **dict.fromkeys(METRICS, 1.0)}])
    table = differences(values, ["a"])
    assert len(table) == 0 and "difference" in table.columns
