"""OR-Tools refusing its own answer ends one solve, not the search process (issue 15, XL).

At XL (the zoo's lexicographic market, phase 2, PDLP on about 3 million pairs) OR-Tools raised
pybind11_abseil's ``StatusNotOk`` ("incompatible basis and dual solution ... [INTERNAL]") out of
``core.solve``, and the search process died with it. ``solve_matrix`` now answers "none" for
that exception (its callers go on without the answer) and lets every other one through. Run in
a child interpreter: OR-Tools is never loaded next to highspy.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np, scipy.sparse as sp
    from ortools.math_opt.core.python import solver as core
    from allocator.heuristic import mathopt

    c = np.array([1.0, 2.0]); A = sp.csr_matrix(np.array([[-1.0, -1.0]]))
    args = (c, A, np.array([-1.0]), np.ones(2))
    real = mathopt.solve_matrix(*args)
    print("real", real.status, round(real.objective, 6))

    class StatusNotOk(Exception):  # the name pybind11_abseil gives it
        pass

    def refuse(*a, **k):
        raise StatusNotOk("incompatible basis and dual solution [INTERNAL]")

    core.solve = refuse
    ans = mathopt.solve_matrix(*args)
    print("refused", ans.status, ans.x is None, ans.objective is None)

    def broken(*a, **k):
        raise ValueError("a bug")

    core.solve = broken
    try:
        mathopt.solve_matrix(*args)
    except ValueError:
        print("bug propagates")
""")


def test_a_refused_answer_is_no_answer_and_other_errors_propagate() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-3:] == ["real optimal 1.0", "refused none True True", "bug propagates"]


THREADS = textwrap.dedent("""
    import numpy as np, scipy.sparse as sp
    from allocator.heuristic import mathopt

    # a small assignment LP: 30 needs, 6 offers of capacity 4, each need on 3 offers
    rng = np.random.default_rng(3)
    n, m = 30, 6
    cols = [(i, o) for i in range(n) for o in rng.choice(m, 3, replace=False)]
    c = np.array([rng.uniform(1, 10) - 20.0 for _ in cols])  # serving saves on unmet
    rows, idx = [], []
    for j, (i, o) in enumerate(cols):
        rows += [i, n + o]; idx += [j, j]
    A = sp.csr_matrix((np.ones(len(rows)), (rows, idx)), shape=(n + m, len(cols)))
    hi = np.r_[np.ones(n), np.full(m, 4.0)]
    simplex = mathopt.solve_matrix(c, A, hi, np.ones(len(cols)))
    for t in (1, 2):
        ans = mathopt.solve_matrix(c, A, hi, np.ones(len(cols)), solver="pdlp",
                                   tolerance=1e-7, threads=t)
        close = abs(ans.objective - simplex.objective) <= 1e-4 * abs(simplex.objective)
        print(t, ans.status, close)
""")


def test_pdlp_takes_a_thread_count_and_answers_the_same() -> None:
    """Stage 1 of the halves runs PDLP on two threads (``SearchOptions.lp_threads``): MathOpt
    accepts the count, and one and two threads reach the simplex method's optimum."""
    out = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-2:] == ["1 optimal True", "2 optimal True"]
