"""A search child that fails: the answer still comes (from the other sources), checked, with a
bound; the message names the failure and ``extra`` keeps the child's whole traceback."""

from __future__ import annotations

import logging

from failing_search import fail_search_children
from random_instances import random_instance

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.heuristic.portfolio import ANSWER_FROM
from allocator.solvers import SolveParams, solve


def test_a_failed_search_child_is_named_and_its_traceback_kept(monkeypatch, caplog,
                                                              tmp_path):
    fail_search_children(monkeypatch)
    instance = random_instance(701)
    problem = Problem.from_instance(instance)
    with caplog.at_level(logging.WARNING, logger="allocator.heuristic"):
        res = solve(problem, SolveParams(solver="heuristic", time_limit=10))
    assert res.status.has_solution, res.message
    assert res.message.startswith("search process: "), res.message
    assert f"(the answer is {ANSWER_FROM[res.extra['answer_from']]}, without" in res.message
    assert "Traceback" in res.extra["search_error"]
    assert any("a search process failed" in r.getMessage() for r in caplog.records)
    report = check(instance, res.solution, reported=res)
    assert report.ok, report.summary()
    assert res.bound is None or res.bound <= res.objective + 1e-6 * abs(res.objective)
    # the report says it where a broker looks, not in a grey note; result.json keeps it all
    from allocator.report.files import read_result, write_results

    write_results(tmp_path, problem, res)
    html = (tmp_path / "report.html").read_text()
    assert '<p class="alert" role="alert"><strong>A search process failed.</strong>' in html
    assert "Traceback" in read_result(tmp_path / "result.json")["extra"]["search_error"]
