"""Intervals and aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.simulate.metrics import interval, wait_distribution


def test_interval_student_t():
    mean, lo, hi = interval([1.0, 2.0, 3.0])
    # t(0.975, 2) = 4.302653; sd = 1; half = 4.302653 / sqrt(3)
    assert mean == 2.0
    assert hi - mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    assert lo == pytest.approx(2 * mean - hi)
    assert interval([5.0]) == (5.0, None, None)
    assert interval([float("nan"), 2.0, 2.0])[1:] == (2.0, 2.0)


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
