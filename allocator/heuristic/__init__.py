"""The allocation heuristic: Lagrangian-guided construction, local search and CP-SAT LNS.

The exact model of DESIGN.md section 4 handed to a MIP solver does not carry a county (issue 4):
packages are unsplittable and capacities tight, a generalised assignment problem with side
constraints. This package finds good assignments fast and proves how good they are:

* :mod:`.data` flattens a :class:`~allocator.problem.Problem` into the arrays the search uses
  (every capacity, block-volume and share constraint becomes a *row*), picklable so that the
  search can run in a child process;
* :mod:`.state` holds one assignment with its row loads and its exact block funding, and
  applies changes incrementally;
* :mod:`.lagrangian` relaxes the rows (subgradient method): a proven lower bound at a cost
  linear in the eligible pairs, and reduced costs that guide the construction;
* :mod:`.construct` builds a feasible assignment greedily by regret;
* :mod:`.local_search` improves it by vectorised shift moves;
* :mod:`.lns` re-optimises neighbourhoods of a few hundred needs exactly with CP-SAT (OR-Tools,
  imported only there: it must never share a process with highspy);
* :mod:`.search` is the driver; :mod:`.worker` runs it in a spawned child process;
* :mod:`.lp` computes the LP relaxation bound with HiGHS (main process only), per connected
  component.

:mod:`allocator.portfolio` puts them together behind ``solve(problem, params)``.
"""
