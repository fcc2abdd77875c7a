"""The book refuses what the market's limits do not allow, and swaps are fine."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.core.problem import Problem
from allocator.simulate.book import IN_CARE, WAITING, Book, PolicyError

from .markets import dps_market


def book_of(needs):
    problem = Problem.from_instance(dps_market(needs))
    book = Book(problem, problem.offer_capacity)
    book.arrive(np.arange(problem.n_needs), 0)
    return problem, book


def pair(problem, need, provider):
    n = problem.need_ids.index(need)
    ks = np.nonzero((problem.pair_need == n)
                    & (problem.pair_provider == problem.provider_ids.index(provider)))[0]
    return n, int(ks[0])


def test_capacity_is_checked_and_nothing_changes_on_failure():
    problem, book = book_of([{"id": "X", "quantity": 8}, {"id": "Y", "quantity": 4}])
    x, kx = pair(problem, "X", "A")
    y, ky = pair(problem, "Y", "A")
    book.assign({x: kx})
    with pytest.raises(PolicyError, match="offer A"):
        book.assign({y: ky})
    assert book.status[y] == WAITING and book.offer_use[0] == pytest.approx(8)
    _, ky_x = pair(problem, "X", "B")
    with pytest.raises(PolicyError, match="not one of"):
        book.assign({y: ky_x})


def test_swap_in_one_batch():
    """Two people swapping full offers fit once both moves are made."""
    problem, book = book_of([{"id": "X", "quantity": 5}, {"id": "Y", "quantity": 5}])
    x, xa = pair(problem, "X", "C")
    y, yb = pair(problem, "Y", "A")
    book.assign({x: xa, y: yb})
    _, xb = pair(problem, "X", "A")
    _, ya = pair(problem, "Y", "C")
    assert book.assign({x: xb, y: ya}) == (0, 2)
    assert book.status[x] == IN_CARE and book.pair[x] == xb


def test_leave_and_displace_free_room():
    problem, book = book_of([{"id": "X", "quantity": 5}])
    x, k = pair(problem, "X", "B")
    book.assign({x: k})
    book.displace(np.array([x]), 3)
    assert book.status[x] == WAITING and book.wait_since[x] == 3
    assert book.offer_use.sum() == pytest.approx(0)
