"""The comparison table: its numbers against the results they come from."""

from __future__ import annotations

import pytest

from allocator.design.compare import compare_designs, weighted_quantile
from allocator.design.scenarios import generate_scenarios
from allocator.design.solve import DesignParams

from .markets import designs, tiny_market


@pytest.fixture(scope="module")
def comparison():
    market = tiny_market()
    return compare_designs(market, list(designs().items()),
                           generate_scenarios(market, 5, seed=2), DesignParams(time_limit=60))


def test_one_row_per_design_with_the_result_numbers(comparison):
    s = comparison.summary
    assert list(s["design"]) == ["all framework", "mixed", "all block"]
    for run, (_, row) in zip(comparison.runs, s.iterrows(), strict=True):
        res = run.result
        assert row["expected_cost"] == pytest.approx(res.objective)
        parts = ["block_cost", "framework_cost", "quality_zone_cost", "unmet_penalty",
                 "transfer_cost"]
        assert sum(row[p] for p in parts) == pytest.approx(res.objective)
        assert 0 <= row["void_cost"] <= row["block_cost"] + 1e-9
        assert row["unmet_beds_p90"] >= row["unmet_beds_mean"] - 1e-9 or row[
            "unmet_beds_mean"] == 0
        assert row["awards"] == len(res.solution.awards)
    assert s.loc[0, "awards"] == 0 and s.loc[0, "void_cost"] == 0  # all framework


def test_lots_concentration_and_scenarios(comparison):
    lots = comparison.lots
    assert set(lots["design"]) == {"all framework", "mixed", "all block"}
    assert ((lots["hhi"] >= 0) & (lots["hhi"] <= 10_000 + 1e-6)).all()
    served = lots[lots["served"] > 0]
    # HHI is at least 10,000 x the largest share squared, at most 10,000 x the largest share
    assert (served["hhi"] >= 10_000 * served["largest_share"] ** 2 - 1e-6).all()
    assert (served["hhi"] <= 10_000 * served["largest_share"] + 1e-6).all()
    scen = comparison.scenarios
    assert len(scen) == 3 * 5
    for name, group in scen.groupby("design"):
        expected = comparison.summary.set_index("design").loc[name, "expected_cost"]
        assert (group["cost"] * group["weight"]).sum() == pytest.approx(expected)
    # block-only lots: every served unit there is block funded, so use = served
    block = comparison.providers[comparison.providers["design"] == "all block"]
    assert (block["used_mean"] <= block["volume"] + 1e-9).all()
    assert (block["void_mean"] >= -1e-9).all()


def test_weighted_quantile():
    assert weighted_quantile([5, 1, 3], [1, 1, 1], 0.9) == 5
    assert weighted_quantile([5, 1, 3], [0.1, 0.8, 0.1], 0.5) == 1
    assert weighted_quantile([2.0], [1.0], 0.9) == 2.0


def test_progress_is_reported_design_by_design():
    market = tiny_market()
    seen = []
    compare_designs(market, list(designs().items())[:2], generate_scenarios(market, 2, seed=2),
                    DesignParams(time_limit=30), on_design=lambda i, run: seen.append(
                        (i, run.name, run.result.status.has_solution)))
    assert seen == [(0, "all framework", True), (1, "mixed", True)]


def test_verdicts_say_which_differences_are_proven():
    import pandas as pd

    from allocator.design.compare import verdicts

    summary = pd.DataFrame({"design": ["A", "B", "C"],
                            "expected_cost": [100.0, 110.0, 104.0],
                            "bound": [99.0, 108.0, 98.0]})
    rows = verdicts(summary).set_index(["cheaper", "dearer"])
    # A (100) is below B's bound (108): proven, by at least 8
    ab = rows.loc[("A", "B")]
    assert bool(ab.decided) and ab.proven_at_least == pytest.approx(8.0)
    assert "A is cheaper than B" in ab.verdict and "at least GBP 8" in ab.verdict
    # C's optimum may be as low as 98, below A's 100: within each other's gaps
    ac = rows.loc[("A", "C")]
    assert not bool(ac.decided) and "within each other's gaps" in ac.verdict
    # the cheaper one is named first whatever the order of the table
    assert ("C", "B") in rows.index and bool(rows.loc[("C", "B")].decided)


def test_time_a_design_leaves_goes_to_the_designs_after_it():
    """With shared time (the default) the comparison has designs x time_limit in all: a design
    with no bid to award (solved exactly, in well under its share) goes first whatever its
    place in the list, and what it leaves is divided among the others; the tables keep the
    order given. Without: each design has time_limit."""
    market = tiny_market()
    listed = [(k, d) for k, d in designs().items() if k in ("mixed", "all_framework")]
    assert [k for k, _ in listed] == ["all_framework", "mixed"]
    listed = listed[::-1]  # the design with bids first in the list
    seen: list[str] = []
    scen = generate_scenarios(market, 2, seed=2)
    shared = compare_designs(market, listed, scen, DesignParams(time_limit=30),
                             on_design=lambda i, run: seen.append(run.name))
    assert seen == ["all framework", "mixed"]  # solved in this order
    assert list(shared.summary["design"]) == ["mixed", "all framework"]  # shown as listed
    given = dict(zip(shared.summary["design"], shared.summary["time_given_s"], strict=True))
    framework = shared.runs[1].result
    assert 29.5 <= given["all framework"] <= 30.0  # half of 60 s, less what applying took
    assert framework.runtime_s < 15.0  # exact per scenario: far below its share
    # the second gets what is left of 60 s: more than its own 30
    assert 30.0 < given["mixed"] <= 60.0 - framework.runtime_s + 1e-3  # given: to 3 decimals
    fixed = compare_designs(market, listed, scen, DesignParams(time_limit=30),
                            share_time=False)
    assert list(fixed.summary["time_given_s"]) == [30.0, 30.0]
    assert fixed.summary["expected_cost"].tolist() == pytest.approx(
        shared.summary["expected_cost"].tolist())
