"""The allocation heuristic: LP-guided construction, local search and LNS, with a proven bound.

The exact model of DESIGN.md section 4 handed to a MIP solver does not carry a county (issue 4):
packages are unsplittable and capacities tight, a generalised assignment problem with side
constraints. This package finds good assignments fast and proves how good they are.

Runs anywhere (numpy only):

* :mod:`.data` flattens a :class:`~allocator.core.problem.Problem` into the arrays the search uses
  (every capacity, block-volume and share constraint becomes a *row*), picklable so that the
  search can run in a child process; connected components; restriction to a group of them;
* :mod:`.state` holds one assignment with its row loads and its exact block funding, and
  applies changes incrementally;
* :mod:`.lagrangian` relaxes the rows: ``L(lambda)``, a proven lower bound for any prices, at a
  cost linear in the eligible pairs, and the subgradient method to improve the prices;
* :mod:`.construct` builds a feasible assignment greedily by regret;
* :mod:`.local_search` improves it by vectorised shift moves and ejection chains.

Child process only (OR-Tools, which must never share a process with highspy):

* :mod:`.mathopt` hands sparse LPs and MIPs to OR-Tools MathOpt (its bundled HiGHS, or PDLP);
* :mod:`.relaxation` solves the LP relaxation component by component and rounds it;
* :mod:`.lns` re-optimises neighbourhoods of a few dozen needs with CP-SAT, drawn by
  :mod:`.neighbourhoods`;
* :mod:`.search` is the driver; :mod:`.worker` runs it in a child process and streams its
  progress back.

Main process only (highspy):

* :mod:`.lp` the LP bound with HiGHS (used for the weighted bound of a lexicographic run);
* :mod:`.mip` HiGHS on the exact model next to the search, fed its answers.

:mod:`allocator.heuristic.portfolio` puts them together behind ``solve(problem, params)``.
"""
