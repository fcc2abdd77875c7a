"""Benders (L-shaped) decomposition of the design model for many scenarios.

When the extensive form is too large, the awards are chosen by a master problem over the
first-stage variables only (y, V and one value theta_s per scenario) and each scenario is
solved on its own with the awards fixed:

1. **Fix the design, evaluate the scenarios independently.** For volumes V, every scenario's
   recourse is solved as an LP (x relaxed to [0, 1]): its value Q_s(V) and, from the reduced
   costs of the (fixed) V columns, a subgradient g_s. The LP value is a convex function of V
   (V is a right-hand side), so ``theta_s >= Q_s(V^k) + g_s (V - V^k)`` holds for every V.
2. **Improve the design.** The master MIP: minimise block cost + sum_s w_s theta_s subject to
   the bids' volume ranges, the lots' provider and share limits (clarification 7) and every cut
   so far. Its optimum is a lower bound on the design model: the LP recourse is at most the
   MIP recourse, and every cut is valid.
   Before the master MIP, a *relaxed phase* (``decomposition._relaxed_phase``) iterates on
   the master's LP relaxation (:meth:`Master.solve_relaxed`), with cuts taken between the best
   fractional point so far and the relaxed master's solution (in-out separation): it
   converges to the LP relaxation of the whole design model in a few dozen cheap iterations
   and hands the MIP master its cuts.
   The master may also hold the *aggregated demand* (partial Benders,
   :mod:`allocator.design.aggregate`): the scenarios' needs merged by type into one LP per
   group of scenarios, linked to theta by ``sum_{s in G} w_s theta_s >= W_G cost_G``.
3. Repeat until the best LP value of a design found meets the master's bound (within the
   gap), or the time share runs out. Then the best few designs are evaluated exactly (MIP
   recourse, :mod:`allocator.design.recourse`), the best kept and polished (the volumes
   re-chosen for the scenarios' exact assignments).

The bound reported is the largest of the master's last bound ("Benders bound with LP
recourse"), the relaxed phase's and, when that phase is off or did not converge, the
wait-and-see LP bound (:func:`design_lp_bound`); the gap to it also contains
the recourse's integrality gap, usually nil for placements and packages against capacities.

The scenario LPs of one iteration are independent tasks for :mod:`allocator.design.sweep`. Each
starts from the simplex basis its own scenario ended with in the previous iteration; the basis
travels with the task (not cached in a worker), so the sequence of solves, and every number, is
the same wherever the tasks run.
"""

from __future__ import annotations

import os
import tempfile
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.progress import muted
from allocator.core.result import Status
from allocator.design.recourse import Pool, design_holders, holder_keys
from allocator.design.scenarios import Demand
from allocator.design.scenarios import demands as instance_demands
from allocator.exact.highs import new_highs, set_threads
from allocator.exact.model import MatrixModel, build, target_rows
from allocator.exact.solve import solve_model
from allocator.instance.schema import Instance

# rows of the design model that only involve y and V: free in a recourse LP (y, V fixed)
DESIGN_ROWS = ("bid max volume", "bid min volume", "lot block limits", "design targets")
INTEGRALITY_TOL = 1e-6
MODEL_CACHE = 256  # recourse models a worker process keeps (see lp_recourse's token)
_MODELS: OrderedDict[tuple[str, str | None], tuple[MatrixModel, float]] = OrderedDict()


@dataclass(frozen=True)
class LpRecourse:
    """One scenario's LP recourse at fixed volumes."""

    scenario: str | None
    objective: float  # LP value of the recourse (contracts in force excluded)
    gradient: np.ndarray  # d objective / d V, per awardable bid (design-column order)
    gradient_y: np.ndarray  # d objective / d y (capacity of offers that exist with an award)
    integral: bool  # the LP's assignment is integral (then the value is the MIP's)
    basis: bytes | None  # the final simplex basis (compressed HiGHS basis file)
    runtime_s: float


def lp_recourse(
    instance: Instance,
    demands: Sequence[Demand],
    lot_demand: np.ndarray,
    volume: np.ndarray,
    bases: Sequence[bytes | None],
    threads: int | None = 1,
    token: str = "",
    award: np.ndarray | None = None,
) -> list[LpRecourse]:
    """The LP recourse of each demand at awarded volumes ``volume`` (one sweep task).

    Parameters
    ----------
    instance
        The design instance.
    demands
        The scenarios to solve.
    lot_demand
        D[l] (only used to build the model; the lot rows are free here).
    volume
        V per awardable bid, in design-column order (0 for a bid not awarded).
    bases
        A starting basis per demand (from the previous iteration), or None.
    threads
        Solver threads per LP.
    token
        Names this solve: a worker keeps the models it built under it (a model is a pure
        function of the instance and the demand, so reusing one changes no number).
    award
        y per awardable bid (1 awarded); ``volume > 0`` when None. A bid awarded at volume 0
        still brings the offers that exist only with its award (DESIGN.md 9.1).
    """
    if award is None:
        award = (np.asarray(volume) > 0).astype(float)
    out = []
    for demand, basis in zip(demands, bases, strict=True):
        t0 = time.perf_counter()
        key = (token, demand.id)
        if token and key in _MODELS:
            model, fixed = _MODELS[key]
        else:
            p = Problem.from_instance(instance, mode="design", needs=demand.needs,
                                      scenario=demand.id)
            # With the valid inequalities (b <= y, x <= y where only a bid funds or brings
            # the work): for fixed y they are bounds, and their duals give the cut a
            # gradient in y, which is what the master needs between integral designs.
            model = build([(p, 1.0)], design=True, expected_lot_demand=lot_demand,
                          strengthen=True)
            fixed = p.fixed_block_cost
            if token:
                _MODELS[key] = (model, fixed)
                while len(_MODELS) > MODEL_CACHE:
                    _MODELS.popitem(last=False)
        obj, grad, grad_y, integral, new_basis = _solve_lp(model, fixed, volume, award, basis,
                                                           threads)
        out.append(LpRecourse(demand.id, obj, grad, grad_y, integral, new_basis,
                              time.perf_counter() - t0))
    return out


def _solve_lp(model: MatrixModel, fixed: float, volume: np.ndarray, award: np.ndarray,
              basis: bytes | None, threads: int | None
              ) -> tuple[float, np.ndarray, np.ndarray, bool, bytes | None]:
    import highspy

    nb = len(model.design_holders)
    names = np.asarray(model.row_names, dtype=object)
    if len(names) != model.n_rows:  # pragma: no cover - a one-scenario model is named
        raise RuntimeError("the recourse model has no row names")
    free = np.isin(names, DESIGN_ROWS)
    row_lo = np.where(free, -highspy.kHighsInf, model.row_lo)
    row_hi = np.where(free, highspy.kHighsInf, model.row_hi)
    cost = model.c.copy()
    col_lo, col_hi = model.col_lo.copy(), model.col_hi.copy()
    if nb:
        cost[model.y0:model.y0 + model.n_design] = 0.0
        on = np.asarray(award, dtype=float)
        col_lo[model.y0:model.y0 + nb] = on
        col_hi[model.y0:model.y0 + nb] = on
        col_lo[model.y0 + nb:model.y0 + 2 * nb] = volume
        col_hi[model.y0 + nb:model.y0 + 2 * nb] = volume
        if model.z0 >= 0:  # z only appears in the (freed) target rows: fix it to its value
            z = model.z_values(on)
            col_lo[model.z0:model.z0 + model.n_z] = z
            col_hi[model.z0:model.z0 + model.n_z] = z
    h = new_highs()
    set_threads(h, threads)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.n_cols, model.n_rows
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lo, col_hi
    lp.row_lower_, lp.row_upper_ = row_lo, row_hi
    lp.offset_ = float(model.offset - fixed)
    A = model.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = model.n_cols, model.n_rows
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    h.passModel(lp)
    if basis is not None:
        _read_basis(h, basis)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"recourse LP: {h.modelStatusToString(h.getModelStatus())}")
    sol = h.getSolution()
    objective = float(h.getInfo().objective_function_value)
    values = np.asarray(sol.col_value)
    dual = np.asarray(sol.col_dual)
    # Reduced costs of the fixed y and V columns: subgradients of the LP value in (y, V)
    # (they are right-hand sides of the recourse LP, so the value is convex in them).
    grad = dual[model.y0 + nb:model.y0 + 2 * nb] if nb else np.zeros(0)
    grad_y = dual[model.y0:model.y0 + nb] if nb else np.zeros(0)
    xv = values[model.integer & ~_design_cols(model)]
    integral = bool(np.all(np.abs(xv - np.round(xv)) <= INTEGRALITY_TOL))
    return (objective, np.array(grad, dtype=float), np.array(grad_y, dtype=float), integral,
            _write_basis(h))


def _design_cols(model: MatrixModel) -> np.ndarray:
    mask = np.zeros(model.n_cols, dtype=bool)
    if model.y0 >= 0:
        mask[model.y0:model.y0 + model.n_design] = True
    return mask


def _write_basis(h) -> bytes | None:
    fd, path = tempfile.mkstemp(suffix=".bas")
    os.close(fd)
    try:
        h.writeBasis(path)
        with open(path, "rb") as f:
            return zlib.compress(f.read(), 1)
    except OSError:  # pragma: no cover - a basis is only a speed-up
        return None
    finally:
        os.unlink(path)


def _read_basis(h, data: bytes) -> None:
    fd, path = tempfile.mkstemp(suffix=".bas")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(zlib.decompress(data))
        h.readBasis(path)
    finally:
        os.unlink(path)


def whole_capacity(instance: Instance, base: Problem, demands: Sequence[Demand]) -> np.ndarray:
    """Per awardable bid (design-column order): whether only a whole amount of its volume can
    ever be used, so that the recourse may take ``floor(V)`` as its capacity.

    That holds for a bid in a lot without framework (every pair there is block-funded in
    full, b = x) when the provider's contract in force in the lot is a whole number and every
    need any demand has in the lot's services has a whole quantity (placements: one bed):
    then the block-funded quantity, a sum of whole quantities, is at most ``floor(c + V)``.
    """
    dh = design_holders(base)
    lots = base.holder_lot[dh]
    contract = base.holder_volume[dh]
    out = np.zeros(len(dh), dtype=bool)
    for li, lot in enumerate(instance.lots):
        if lot.framework:
            continue
        services = set(lot.services)
        if all(float(n.quantity).is_integer() for d in demands for n in d.needs
               if n.service in services):
            out |= lots == li
    return out & (np.abs(contract - np.round(contract)) <= 1e-9)


class Master:
    """The Benders master: y, V, theta_s and z, the lot limits, the design targets, the cuts.

    Columns: y (nb), V (nb), theta (one per scenario), z (design targets, DESIGN.md 9.3),
    then W (one integer column per bid of :func:`whole_capacity`: the whole volume the
    recourse may use, ``W <= V``; the cuts are in W where a bid has one, else in V).

    Parameters
    ----------
    instance, base
        The design instance and its design-mode problem (for the awardable bids).
    lot_demand
        D[l], the expected demand (clarification 7).
    weights
        The scenarios' weights, in order.
    whole
        Per awardable bid, whether its recourse capacity is ``floor(V)``
        (:func:`whole_capacity`); by default computed from the instance's demands.
    """

    def __init__(self, instance: Instance, base: Problem, lot_demand: np.ndarray,
                 weights: Sequence[float],
                 aggregates: Sequence[tuple[np.ndarray, MatrixModel]] = (),
                 whole: np.ndarray | None = None):
        dh = design_holders(base)
        self.nb = nb = len(dh)
        self.k = k = len(weights)
        self.keys = holder_keys(base)
        bids = [instance.block_bids[int(base.holder_bid[h])] for h in dh]
        self.award = np.array([b.award_cost for b in bids], dtype=float)
        self.rate = np.array([b.rate for b in bids], dtype=float)
        self.vmin = np.array([b.min_volume for b in bids], dtype=float)
        self.vmax = np.array([b.max_volume for b in bids], dtype=float)
        self.lot = base.holder_lot[dh].copy()
        self.beds = np.array([instance.lots[li].unit == "beds" for li in self.lot], dtype=bool)
        self.share = [(None if lot.block is None or lot_demand[li] <= 0 else
                       (lot.block.min_share * lot_demand[li], lot.block.max_share * lot_demand[li]))
                      for li, lot in enumerate(instance.lots)]
        self.weights = np.asarray(weights, dtype=float)
        self.offset = float(base.fixed_block_cost)
        targets = target_rows(base, dh, lot_demand, 2 * nb + k)
        self.targets = targets
        self.nz = targets.n_z
        if whole is None:
            whole = whole_capacity(instance, base, instance_demands(instance))
        self.whole = np.asarray(whole, dtype=bool)
        self.nw = nw = int(self.whole.sum())
        w0 = 2 * nb + k + self.nz
        # the column each cut's capacity coefficient goes to: W where a bid has one, else V
        self.cap_col = nb + np.arange(nb)
        self.cap_col[self.whole] = w0 + np.arange(nw)
        self.n_first = w0 + nw  # y, V, theta, z, W
        self.n_cols = self.n_first + sum(m.n_cols - m.n_design for _, m in aggregates)
        rows, cols, vals, lo, hi = [], [], [], [], []
        r = 0
        for j in range(nb):  # vmin y <= V <= vmax y
            rows += [r, r, r + 1, r + 1]
            cols += [nb + j, j, nb + j, j]
            vals += [1.0, -self.vmax[j], 1.0, -self.vmin[j]]
            lo += [-np.inf, 0.0]
            hi += [0.0, np.inf]
            r += 2
        lots_h = base.holder_lot[dh]
        for li, lot in enumerate(instance.lots):
            rules = lot.block
            if rules is None:
                continue
            members = np.nonzero(lots_h == li)[0]
            rows += [r] * len(members)
            cols += list(members)
            vals += [1.0] * len(members)
            lo.append(float(rules.min_providers))
            hi.append(np.inf if rules.max_providers is None else float(rules.max_providers))
            r += 1
            if lot_demand[li] > 0:  # clarification 4: no share row where D[l] = 0
                rows += [r] * len(members)
                cols += list(nb + members)
                vals += [1.0] * len(members)
                lo.append(rules.min_share * lot_demand[li])
                hi.append(rules.max_share * lot_demand[li])
                r += 1
        rows += list(r + targets.rows)
        cols += list(targets.cols)
        vals += list(targets.vals)
        lo += list(targets.lo)
        hi += list(targets.hi)
        r += len(targets.lo)
        for j in map(int, np.nonzero(self.whole)[0]):  # W <= V
            rows += [r, r]
            cols += [int(self.cap_col[j]), nb + j]
            vals += [1.0, -1.0]
            lo.append(-np.inf)
            hi.append(0.0)
            r += 1
        static = [sp.csr_matrix((vals, (rows, cols)), shape=(r, self.n_cols))]
        self._n_base_rows = r
        self._lo, self._hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
        # the aggregated demands (partial Benders, allocator.design.aggregate)
        self._agg_hi: list[np.ndarray] = []
        at = self.n_first
        for members, agg in aggregates:
            block, block_lo, block_hi = self._aggregate_rows(members, agg, at)
            static.append(block)
            self._lo, self._hi = np.r_[self._lo, block_lo], np.r_[self._hi, block_hi]
            self._agg_hi.append(agg.col_hi[agg.n_design:])
            at += agg.n_cols - agg.n_design
        self._static = sp.vstack(static, format="csr")
        self.aggregated = len(aggregates)
        # offers that exist only with an award, in the aggregated demands: what only the
        # aggregated master MIP sees (a cut is linear in y)
        self.gated = any(len(agg.rows_of("award capacity")) for _, agg in aggregates)
        self._cuts: list[tuple[int, np.ndarray, float]] = []  # (scenario, g over y|V, rhs)
        self._seen: set[bytes] = set()

    def _aggregate_rows(self, members: np.ndarray, agg: MatrixModel, at: int
                        ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """The rows of one aggregated demand over scenarios ``members``, its recourse columns
        from ``at``, and the row linking them to theta: ``sum_{s in members} w_s theta_s >=
        W (cost of the aggregated recourse + its constant)``, W the members' weight.

        ``agg`` is the aggregated model of the members with their weights renormalised to sum
        to 1 (its y, V, z columns first, in the master's order); its design rows are the
        master's own and are left out.
        """
        nb, k, nz = self.nb, self.k, self.nz
        if (agg.y0 != 0 or len(agg.design_holders) != nb or agg.n_z != nz):
            raise ValueError("the aggregated model's first stage is not the master's")
        nd = agg.n_design
        names = np.asarray(agg.row_names, dtype=object)
        keep = np.nonzero(~np.isin(names, DESIGN_ROWS))[0]
        A = agg.A[keep].tocsc()
        nr = agg.n_cols - nd
        # agg columns: y, V | z | recourse  ->  master: y, V | theta | z | W | ... at ...
        # A whole bid's capacity is its W here too (valid as for the cuts: the scenarios'
        # LPs at capacity floor(V) mix into a solution of these rows).
        volume = A[:, nb:2 * nb].tolil()
        on_w = volume[:, np.nonzero(self.whole)[0]].tocsc()
        volume[:, np.nonzero(self.whole)[0]] = 0.0
        blocks = [A[:, :nb], volume.tocsc(), sp.csc_matrix((len(keep), k)), A[:, 2 * nb:nd],
                  on_w, sp.csc_matrix((len(keep), at - self.n_first)), A[:, nd:],
                  sp.csc_matrix((len(keep), self.n_cols - at - nr))]
        body = sp.hstack(blocks, format="csr")
        W = float(self.weights[members].sum())
        link = np.zeros(self.n_cols)
        link[2 * nb + members] = self.weights[members]
        link[at:at + nr] = -W * agg.c[nd:]
        constant = W * (agg.offset - self.offset)  # the transfer constant (same block cost)
        A_all = sp.vstack([body, sp.csr_matrix(link)], format="csr")
        return (A_all, np.r_[agg.row_lo[keep], constant], np.r_[agg.row_hi[keep], np.inf])

    def capacity(self, volume: np.ndarray) -> np.ndarray:
        """The recourse's capacity at volumes ``volume``: ``floor(V)`` for the bids of
        :func:`whole_capacity`, V for the others. A design's cuts are taken there."""
        cap = np.asarray(volume, dtype=float).copy()
        cap[self.whole] = np.floor(cap[self.whole] + 1e-6)
        return cap

    def add_cuts(self, volume: np.ndarray, results: Sequence[LpRecourse],
                 award: np.ndarray | None = None) -> int:
        """Add theta_s - g_s (y, C) >= Q_s - g_s (y^k, C^k) per scenario, C the recourse
        capacity (W where a bid has one, else V); returns how many were new. ``volume`` is
        C^k, the capacity the recourse ``results`` were solved at (any point: the LP
        recourse is convex in it); ``award`` is y^k (``volume > 0`` when None)."""
        y = (np.asarray(volume) > 0).astype(float) if award is None else np.asarray(
            award, dtype=float)
        point = np.r_[y, volume]
        added = 0
        for s, res in enumerate(results):
            g = np.r_[res.gradient_y, res.gradient]
            g = np.where(np.abs(g) > 1e-12, g, 0.0)
            rhs = float(res.objective - g @ point)
            key = np.r_[s, np.round(g, 9), round(rhs, 6)].tobytes()
            if key in self._seen:
                continue
            self._seen.add(key)
            self._cuts.append((s, g, rhs))
            added += 1
        return added

    def model(self, aggregated: bool = True) -> MatrixModel:
        """The master as a model for the solver layer; with ``aggregated`` False, without the
        aggregated demands' columns and rows (cuts only)."""
        nb, k = self.nb, self.k
        n = len(self._cuts)
        if n:
            rows = np.repeat(np.arange(n), 2 * nb + 1)
            cols = np.concatenate([np.r_[2 * nb + s, np.arange(nb), self.cap_col]
                                   for s, _, _ in self._cuts])
            vals = np.concatenate([np.r_[1.0, -g] for _, g, _ in self._cuts])
            cuts = sp.csr_matrix((vals, (rows, cols)), shape=(n, self.n_cols))
            cuts.eliminate_zeros()
            A = sp.vstack([self._static, cuts], format="csr")
        else:
            A = self._static
        rhs = np.array([c[2] for c in self._cuts], dtype=float)
        n_agg = self.n_cols - self.n_first
        full = MatrixModel(
            c=np.r_[self.award, self.rate, self.weights, np.zeros(self.nz + self.nw + n_agg)],
            offset=self.offset,
            A=A,
            row_lo=np.r_[self._lo, rhs],
            row_hi=np.r_[self._hi, np.full(n, np.inf)],
            col_lo=np.zeros(self.n_cols),
            # recourse costs >= 0
            col_hi=np.r_[np.ones(nb), self.vmax, np.full(k, np.inf), np.ones(self.nz),
                         np.floor(self.vmax[self.whole] + 1e-6), *self._agg_hi],
            integer=np.r_[np.ones(nb, dtype=bool), np.zeros(nb + k, dtype=bool),
                          np.ones(self.nz + self.nw, dtype=bool), np.zeros(n_agg, dtype=bool)],
            demands=(),
        )
        if aggregated or not n_agg:
            return full
        keep = np.r_[np.arange(self._n_base_rows), self._static.shape[0] + np.arange(n)]
        f = self.n_first
        return replace(full, c=full.c[:f], A=full.A[keep][:, :f].tocsr(),
                       row_lo=full.row_lo[keep], row_hi=full.row_hi[keep],
                       col_lo=full.col_lo[:f], col_hi=full.col_hi[:f], integer=full.integer[:f])

    @muted()  # the master's best and bound are not the design's: not shown as its progress
    def solve(self, params: SolveParams, warm: tuple[np.ndarray, np.ndarray] | None = None,
              aggregated: bool = False,
              on_design: Callable[[np.ndarray, np.ndarray], None] | None = None
              ) -> tuple[Status, np.ndarray | None, np.ndarray | None, float | None, float | None]:
        """(status, y, V, objective, bound) of the master MIP; y and V None without a
        solution. ``aggregated``: with the aggregated demands (a harder MIP: HiGHS took 40-50 s
        on the Staffordshire designs where the cuts alone take 3-17 s). ``on_design`` (HiGHS
        only) is called with (y, V) of every improving solution while the MIP runs."""
        model = self.model(aggregated)
        start = None if warm is None else self.point(*warm, aggregated=aggregated)
        if on_design is not None and params.solver == "highs":
            from allocator.exact import highs
            from allocator.exact.base import SolverOptions

            opts = SolverOptions(time_limit=params.time_limit, gap=params.gap,
                                 threads=params.threads, verbose=params.verbose,
                                 seed=params.seed)
            res = highs.solve(model, opts, warm_start=start,
                              on_solution=lambda v: on_design(*self._design(v)))
        else:
            res, _ = solve_model(model, params, "weighted", warm_start=start)
        if not res.status.has_solution or res.values is None:
            return res.status, None, None, None, res.bound
        y, volume = self._design(res.values)
        return res.status, y, volume, res.objective, res.bound

    def _design(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y, V) of a master solution's column values."""
        y = values[:self.nb] > 0.5
        volume = np.where(y, np.clip(values[self.nb:2 * self.nb], self.vmin, self.vmax), 0.0)
        return y, np.round(volume, 6)

    def solve_relaxed(self, time_limit: float, threads: int | None
                      ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """(y, V, objective) of the master's LP relaxation (y in [0, 1]), or None.

        Its objective is a lower bound on the design model too: every cut is valid for
        fractional awards (the LP recourse is convex in (y, V) over the whole box).
        """
        from allocator.exact import highs
        from allocator.exact.base import SolverOptions

        res = highs.solve(self.model(), SolverOptions(time_limit=time_limit, threads=threads),
                          relax=True)
        if res.status != Status.optimal or res.values is None or res.objective is None:
            return None
        nb = self.nb
        y = np.clip(res.values[:nb], 0.0, 1.0)
        volume = np.clip(res.values[nb:2 * nb], 0.0, self.vmax)
        return y, volume, float(res.objective)

    def point(self, y: np.ndarray, volume: np.ndarray, aggregated: bool = True
              ) -> np.ndarray | None:
        """A master solution with these awards (theta at the maximum of its cuts), or None.

        With aggregated demands the recourse columns and theta come from the master's LP at
        these awards (None if that LP has no optimum: then there is no warm start).
        """
        y = np.asarray(y, dtype=float)
        cap = self.capacity(volume)
        theta = np.zeros(self.k)
        for s, g, rhs in self._cuts:
            theta[s] = max(theta[s], rhs + g @ np.r_[y, cap])
        z = np.zeros(self.nz)
        j, kz = self.targets.members
        np.maximum.at(z, kz, y[j])
        first = np.r_[y, volume, theta, z, cap[self.whole]]
        if not self.aggregated or not aggregated:
            return first
        from allocator.exact import highs
        from allocator.exact.base import SolverOptions

        model = self.model()
        nb, k = self.nb, self.k
        fixed = np.r_[np.arange(2 * nb), 2 * nb + k + np.arange(self.nz + self.nw)]
        lo, hi = model.col_lo.copy(), model.col_hi.copy()
        lo[fixed] = hi[fixed] = np.clip(first[fixed], lo[fixed], hi[fixed])
        res = highs.solve(replace(model, col_lo=lo, col_hi=hi),
                          SolverOptions(time_limit=30.0, threads=1), relax=True)
        if res.status != Status.optimal or res.values is None:
            return None
        return np.asarray(res.values, dtype=float)

    def first_stage(self, y: np.ndarray, volume: np.ndarray) -> float:
        """Block cost of these awards: contracts in force, award costs, rate x volume."""
        return float(self.offset + self.award @ np.asarray(y, dtype=float) + self.rate @ volume)

    def whole_beds(self, y: np.ndarray, volume: np.ndarray) -> np.ndarray | None:
        """``volume`` with every awarded bid in a beds lot rounded to whole beds, or None.

        A placement is one bed, so block volume beyond a whole number of beds buys a fraction
        of a placement; designs with whole beds are the ones the exact recourse solves fastest
        (its LP relaxation is then usually integral). Rounding is to the nearest bed within the
        bid's range, then lots whose share limits the rounding broke are repaired one bed at a
        time; None when that fails or nothing changes.
        """
        v = volume.copy()
        on = np.asarray(y, dtype=bool) & self.beds
        lo = np.ceil(self.vmin - 1e-9)
        hi = np.floor(self.vmax + 1e-9)
        v[on] = np.clip(np.round(volume[on]), lo[on], hi[on])
        for li, limits in enumerate(self.share):
            members = np.nonzero(on & (self.lot == li))[0]
            if limits is None or not len(members):
                continue
            low, high = limits
            for _ in range(4 * len(members) + 4 * int(hi[members].sum()) + 4):
                total = v[self.lot == li].sum()
                if total < low - 1e-9:
                    room = members[v[members] + 1 <= hi[members]]
                    if not len(room):
                        return None
                    v[room[np.argmax(volume[room] - v[room])]] += 1
                elif total > high + 1e-9:
                    room = members[v[members] - 1 >= lo[members]]
                    if not len(room):
                        return None
                    v[room[np.argmin(volume[room] - v[room])]] -= 1
                else:
                    break
            else:  # no whole number of beds fits the lot's share limits
                return None
        if np.allclose(v, volume, atol=1e-9):
            return None
        return v

    def awards(self, y: np.ndarray, volume: np.ndarray) -> dict[Pool, float]:
        """(provider, lot) -> V of every awarded bid."""
        return {k: float(v) for k, on, v in zip(self.keys, y, volume, strict=True) if on}


@muted()  # one scenario's own design MIP, not the design's progress
def design_lp_bound(
    instance: Instance,
    demands: Sequence[Demand],
    lot_demand: np.ndarray,
    threads: int | None = 1,
    mip_time_limit: float = 0.0,
) -> list[float | None]:
    """Each demand's own design model, alone: a lower bound on what any design costs it.

    The weighted sum over all demands is a lower bound on the design model: each demand may
    choose its own awards (the "wait-and-see" bound). With ``mip_time_limit`` 0 the awards are
    relaxed too (the LP, a relaxation twice over); above 0 each demand's own design MIP is
    solved for at most that many seconds and its proven bound is used (never below its LP
    value: the MIP's bound starts there), which closes the part of the gap the fractional
    awards of the LP leave open. One task of a sweep; None where nothing was proven.
    """
    from allocator.exact import highs
    from allocator.exact.base import SolverOptions

    out: list[float | None] = []
    for demand in demands:
        p = Problem.from_instance(instance, mode="design", needs=demand.needs, scenario=demand.id)
        model = build([(p, 1.0)], design=True, expected_lot_demand=lot_demand)
        lp = highs.solve(model, SolverOptions(time_limit=600.0, threads=threads), relax=True)
        value = lp.objective if lp.status == Status.optimal else None
        if mip_time_limit > 0 and value is not None:
            mip = highs.solve(model, SolverOptions(time_limit=mip_time_limit, threads=threads,
                                                   gap=1e-6))
            if mip.bound is not None:
                value = max(value, float(mip.bound))
        out.append(value)
    return out
