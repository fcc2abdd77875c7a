"""The mixed-integer model of DESIGN.md sections 4 and 5, built as sparse matrices.

``models/allocation.md`` and ``models/lot_design.md`` state the maths; this module builds exactly
that, vectorised (no Python loop per pair), into a :class:`MatrixModel` that every MIP backend
(HiGHS directly, CBC through PuLP) loads.

Column blocks, per demand (the base needs, or one scenario's):

* ``x[k]`` binary, one per eligible pair;
* ``u[n]`` in [0, 1], one per need (integral once x is: sum x + u = 1);
* ``b[j]`` in [0, 1], one per pair that may be block-funded by choice (a block holder's pair in a
  lot with ``framework=true`` and a positive price); in block-only lots b = x is substituted.

Design mode adds, once, for every block holder with a bid: ``y[h]`` binary and ``V[h]`` >= 0,
then one binary ``z[t, p]`` per design target t and provider p with a bid in t's lots
(DESIGN.md 9.3: p is among t's distinct block providers).

Rows that can never bind (an offer whose eligible pairs together fit its capacity, ...) are left
out; they change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # only in annotations: the search's child imports this module without pandas
    from allocator.core.problem import Problem

INF = float("inf")


@dataclass(frozen=True, eq=False)
class DemandBlock:
    """Where one demand's columns sit in the model."""

    problem: Problem
    weight: float
    x0: int
    u0: int
    b0: int
    b_pairs: np.ndarray  # pair index of each b column


@dataclass(frozen=True, eq=False)
class MatrixModel:
    """min c'x + offset  s.t.  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi."""

    c: np.ndarray
    offset: float
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray  # bool per column
    demands: tuple[DemandBlock, ...]
    y0: int = -1  # first design column (y then V), -1 when none
    design_holders: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    z0: int = -1  # first z column (design targets), -1 when none
    # (design column j, z index) of every bid counted by a target: z = max of its members' y
    z_members: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
    unmet_cost: np.ndarray | None = None  # objective restricted to the unmet term (lexicographic)
    row_names: tuple[str, ...] = ()
    # (kind, first row, end row) of every batch of rows, in order, whatever the model's size:
    # the other backends read the rows they need from A by kind (CP-SAT's capacity rows)
    row_kinds: tuple[tuple[str, int, int], ...] = ()

    def rows_of(self, *kinds: str) -> np.ndarray:
        """The row numbers of the given kinds, in order."""
        spans = [np.arange(a, b) for k, a, b in self.row_kinds if k in kinds]
        return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)

    @property
    def n_cols(self) -> int:
        return len(self.c)

    @property
    def n_z(self) -> int:
        return 0 if self.z0 < 0 else int(self.z_members[1].max(initial=-1)) + 1

    @property
    def n_design(self) -> int:
        """Columns of the first stage: y, V and z."""
        return 0 if self.y0 < 0 else 2 * len(self.design_holders) + self.n_z

    def z_values(self, award: np.ndarray) -> np.ndarray:
        """The z of awards ``y`` (design-column order): 1 where any member bid is awarded."""
        z = np.zeros(self.n_z)
        j, k = self.z_members
        np.maximum.at(z, k, np.asarray(award, dtype=float)[j])
        return z

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


class _Rows:
    """Accumulates COO triplets and row bounds."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.kind: list[tuple[str, int]] = []
        self.n = 0

    def add(self, rows, cols, vals, lo, hi, kind: str) -> None:
        """Add len(lo) rows; ``rows`` are local (0-based within this batch)."""
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
        if len(lo) == 0:
            return
        self.r.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.append(lo)
        self.hi.append(hi)
        self.kind.append((kind, len(lo)))
        self.n += len(lo)

    def matrix(self, n_cols: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        if not self.r:
            return sp.csr_matrix((0, n_cols)), np.zeros(0), np.zeros(0)
        A = sp.csr_matrix(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
            shape=(self.n, n_cols),
        )
        A.sum_duplicates()
        return A, np.concatenate(self.lo), np.concatenate(self.hi)


def _group_rows(keys: np.ndarray, binding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map group keys to consecutive row numbers for the binding groups only.

    Returns (row of each element or -1, group key of each row).
    """
    groups = np.nonzero(binding)[0]
    row_of = np.full(len(binding), -1, dtype=np.int64)
    row_of[groups] = np.arange(len(groups))
    return row_of[keys], groups


@dataclass(frozen=True)
class TargetRows:
    """The rows of the design targets (DESIGN.md 9.3) over the first-stage columns.

    Columns are numbered as y = 0..nb-1, V = nb..2nb-1 and z = ``z_start`` + k; the caller
    shifts them into its own layout.
    """

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_z: int
    members: tuple[np.ndarray, np.ndarray]  # (design column j, z index)


def target_rows(problem: Problem, design_holders: np.ndarray, lot_demand: np.ndarray,
                z_start: int) -> TargetRows:
    """Rows of every design target over the awardable bids ``design_holders``.

    For target t over lots L_t, with M_t the bids in L_t and P_t their providers:
    ``y[j] <= z[t,p(j)]`` (j in M_t), ``z[t,p] <= sum_{j in M_t, p(j)=p} y[j]``,
    ``min_providers <= sum_p z[t,p] <= max_providers`` and, where ``D_t = sum_{l in L_t}
    D[l] > 0``, ``min_block_share D_t <= sum_{j in M_t} V[j] <= max_block_share D_t``.
    Contracts in force count towards none of them (they hold no y, V or z).
    """
    inst = problem.instance
    nb = len(design_holders)
    lot_ix = {lid: i for i, lid in enumerate(problem.lot_ids)}
    lots_h = problem.holder_lot[design_holders]
    prov_h = problem.holder_provider[design_holders]
    D = np.asarray(lot_demand, dtype=float)
    r: list[np.ndarray] = []
    c: list[np.ndarray] = []
    v: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    mj: list[np.ndarray] = []
    mk: list[np.ndarray] = []
    row = 0
    nz = 0
    for target in inst.design_targets:
        lots = np.array([lot_ix[lid] for lid in target.lots], dtype=np.int64)
        members = np.nonzero(np.isin(lots_h, lots))[0]
        provs, zk = np.unique(prov_h[members], return_inverse=True)
        zcol = z_start + nz + zk  # z column of each member's provider
        npv, nm = len(provs), len(members)
        # y[j] - z[t,p(j)] <= 0
        ar = np.arange(nm)
        r += [row + ar, row + ar]
        c += [members, zcol]
        v += [np.ones(nm), -np.ones(nm)]
        lo += [-INF] * nm
        hi += [0.0] * nm
        row += nm
        # z[t,p] - sum y[j] <= 0
        r += [row + np.arange(npv), row + zk]
        c += [z_start + nz + np.arange(npv), members]
        v += [np.ones(npv), -np.ones(nm)]
        lo += [-INF] * npv
        hi += [0.0] * npv
        row += npv
        # distinct providers
        r.append(np.full(npv, row))
        c.append(z_start + nz + np.arange(npv))
        v.append(np.ones(npv))
        lo.append(float(target.min_providers))
        hi.append(INF if target.max_providers is None else float(target.max_providers))
        row += 1
        # block share of the targets' lots together (none where their demand is 0)
        total = float(D[lots].sum())
        if total > 0:
            r.append(np.full(nm, row))
            c.append(nb + members)
            v.append(np.ones(nm))
            lo.append(target.min_block_share * total)
            hi.append(target.max_block_share * total)
            row += 1
        mj.append(members)
        mk.append(nz + zk)
        nz += npv
    def cat(parts: list, dt: type) -> np.ndarray:
        return np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)

    return TargetRows(cat(r, np.int64), cat(c, np.int64), cat(v, float),
                      np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), nz,
                      (cat(mj, np.int64), cat(mk, np.int64)))


def build(
    demands: list[tuple[Problem, float]],
    *,
    design: bool = False,
    expected_lot_demand: np.ndarray | None = None,
    strengthen: bool = True,
    all_rows: bool = False,
) -> MatrixModel:
    """Build the model over one or more demands (scenarios) sharing the same market.

    Parameters
    ----------
    demands
        (problem, weight) per demand; weights sum to 1 (one demand of weight 1 for allocation).
    design
        Add the award variables of DESIGN.md section 5 for every holder with a bid.
    expected_lot_demand
        D[l] for the design's share bounds (clarification 7: the weighted expectation over
        scenarios); defaults to the weighted mean of the demands' lot demands.
    strengthen
        Design mode: add the valid inequalities "nothing is block-funded under a bid that is not
        awarded" (b <= y, and x <= y in block-only lots). They tighten the LP relaxation; a
        recourse model whose y and V are fixed does without them.
    all_rows
        Keep every capacity, volume and share row that has a pair in it, even those the
        demand's own quantities cannot fill: a model whose columns are later scaled (the
        aggregated demand of :mod:`allocator.design.aggregate`, one column for many people)
        needs them.
    """
    base = demands[0][0]
    inst = base.instance
    rows = _Rows()
    costs: list[np.ndarray] = []
    unmet_costs: list[np.ndarray] = []
    lo_parts: list[np.ndarray] = []
    hi_parts: list[np.ndarray] = []
    int_parts: list[np.ndarray] = []
    col = 0
    offset = base.fixed_block_cost
    blocks: list[DemandBlock] = []

    # design columns come first so that every demand can refer to them
    y0 = -1
    z0 = -1
    z_members = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    dh = np.zeros(0, dtype=np.int64)
    v_col_of_holder = np.full(base.n_holders, -1, dtype=np.int64)
    if design:
        dh = np.nonzero(base.holder_bid >= 0)[0]
        nb = len(dh)
        bids = [inst.block_bids[int(b)] for b in base.holder_bid[dh]]
        award = np.array([b.award_cost for b in bids], dtype=float)
        rate = np.array([b.rate for b in bids], dtype=float)
        vmin = np.array([b.min_volume for b in bids], dtype=float)
        vmax = np.array([b.max_volume for b in bids], dtype=float)
        y0 = col
        costs += [award, rate]
        unmet_costs += [np.zeros(nb), np.zeros(nb)]
        lo_parts += [np.zeros(nb), np.zeros(nb)]
        hi_parts += [np.ones(nb), vmax]
        int_parts += [np.ones(nb, dtype=bool), np.zeros(nb, dtype=bool)]
        v_col_of_holder[dh] = y0 + nb + np.arange(nb)
        col += 2 * nb
        ar = np.arange(nb)
        # min_volume * y <= V <= max_volume * y
        rows.add(np.r_[ar, ar], np.r_[y0 + nb + ar, y0 + ar], np.r_[np.ones(nb), -vmax],
                 np.full(nb, -INF), np.zeros(nb), "bid max volume")
        rows.add(np.r_[ar, ar], np.r_[y0 + nb + ar, y0 + ar], np.r_[np.ones(nb), -vmin],
                 np.zeros(nb), np.full(nb, INF), "bid min volume")
        # lot limits: providers awarded and block share
        if expected_lot_demand is None:
            D = np.asarray(sum(w * p.lot_demand for p, w in demands), dtype=float)
        else:
            D = np.asarray(expected_lot_demand, dtype=float)
        lots_h = base.holder_lot[dh]
        r_lo, r_hi, r_rows, r_cols, r_vals = [], [], [], [], []
        nrow = 0
        for li, lot in enumerate(inst.lots):
            if lot.block is None:
                continue
            members = np.nonzero(lots_h == li)[0]
            rules = lot.block
            # providers
            r_rows.append(np.full(len(members), nrow))
            r_cols.append(y0 + members)
            r_vals.append(np.ones(len(members)))
            r_lo.append(rules.min_providers)
            r_hi.append(INF if rules.max_providers is None else rules.max_providers)
            nrow += 1
            # share of expected demand; none where D[l] = 0 (clarification 4, as the checker)
            if D[li] <= 0:
                continue
            r_rows.append(np.full(len(members), nrow))
            r_cols.append(y0 + nb + members)
            r_vals.append(np.ones(len(members)))
            r_lo.append(rules.min_share * D[li])
            r_hi.append(rules.max_share * D[li])
            nrow += 1
        if nrow:
            rows.add(np.concatenate(r_rows), np.concatenate(r_cols), np.concatenate(r_vals),
                     r_lo, r_hi, "lot block limits")
        # design targets across lots (DESIGN.md 9.3): z columns after V
        targets = target_rows(base, dh, D, 2 * nb)
        if targets.n_z:
            z0 = y0 + 2 * nb
            nz = targets.n_z
            z_members = targets.members
            costs.append(np.zeros(nz))
            unmet_costs.append(np.zeros(nz))
            lo_parts.append(np.zeros(nz))
            hi_parts.append(np.ones(nz))
            int_parts.append(np.ones(nz, dtype=bool))
            col += nz
        if len(targets.lo):
            rows.add(targets.rows, y0 + targets.cols, targets.vals, targets.lo, targets.hi,
                     "design targets")

    for p, w in demands:
        nP, nN = p.n_pairs, p.n_needs
        x0 = col
        u0 = x0 + nP
        bmask = (p.pair_holder >= 0) & ~p.pair_forced & (p.pair_block_saving > 0)
        b_pairs = np.nonzero(bmask)[0]
        b0 = u0 + nN
        nB = len(b_pairs)
        col = b0 + nB
        blocks.append(DemandBlock(problem=p, weight=w, x0=x0, u0=u0, b0=b0, b_pairs=b_pairs))

        cx = p.pair_cost_x - p.transfer_penalty * p.pair_is_current
        costs += [w * cx, w * p.need_penalty * p.need_q, -w * p.pair_block_saving[b_pairs]]
        unmet_costs += [np.zeros(nP), w * p.need_penalty * p.need_q, np.zeros(nB)]
        lo_parts += [np.zeros(nP), np.zeros(nN), np.zeros(nB)]
        hi_parts += [np.ones(nP), np.ones(nN), np.ones(nB)]
        int_parts += [np.ones(nP, dtype=bool), np.zeros(nN, dtype=bool), np.zeros(nB, dtype=bool)]
        offset += w * p.transfer_constant

        kx = np.arange(nP)
        # each need: sum_o x + u = 1
        rows.add(np.r_[p.pair_need, np.arange(nN)], np.r_[x0 + kx, u0 + np.arange(nN)],
                 np.ones(nP + nN), np.ones(nN), np.ones(nN), "need")
        # offer capacity (travel factor scales use)
        tot_o = np.bincount(p.pair_offer, weights=p.pair_use, minlength=p.n_offers)
        # an offer that exists only with an award (DESIGN.md 9.1): capacity * y of that bid
        gated = np.zeros(p.n_offers, dtype=bool)
        if design:
            gated = (p.offer_award_holder >= 0) & (tot_o > 0)
            gated[gated] = v_col_of_holder[p.offer_award_holder[gated]] >= 0
        bind_o = ((tot_o > 0) if all_rows else (tot_o > p.offer_capacity * (1 + 1e-12))) & ~gated
        r, groups = _group_rows(p.pair_offer, bind_o)
        m = r >= 0
        rows.add(r[m], x0 + kx[m], p.pair_use[m], np.full(len(groups), -INF),
                 p.offer_capacity[groups], "offer capacity")
        if gated.any():
            r, groups = _group_rows(p.pair_offer, gated)
            m = r >= 0
            ycol = v_col_of_holder[p.offer_award_holder[groups]] - len(dh)
            cap = p.offer_award_capacity[groups]
            rows.add(np.r_[r[m], np.arange(len(groups))], np.r_[x0 + kx[m], ycol],
                     np.r_[p.pair_use[m], -cap], np.full(len(groups), -INF),
                     np.zeros(len(groups)), "award capacity")
            if strengthen:
                # x <= y on each pair of a gated offer: implied for integral y (any use needs
                # y = 1), much tighter in the LP relaxation than the aggregated row.
                gk = kx[gated[p.pair_offer]]
                yk = v_col_of_holder[p.offer_award_holder[p.pair_offer[gk]]] - len(dh)
                a = np.arange(len(gk))
                rows.add(np.r_[a, a], np.r_[x0 + gk, yk],
                         np.r_[np.ones(len(gk)), -np.ones(len(gk))],
                         np.full(len(gk), -INF), np.zeros(len(gk)), "award capacity needs award")
        # provider capacity over hours offers
        hk = kx[p.pair_hours]
        tot_p = np.bincount(p.pair_provider[hk], weights=p.pair_use[hk], minlength=p.n_providers)
        bind_p = ((tot_p > 0) & np.isfinite(p.provider_capacity) if all_rows
                  else tot_p > p.provider_capacity * (1 + 1e-12))
        r, groups = _group_rows(p.pair_provider[hk], bind_p)
        m = r >= 0
        rows.add(r[m], x0 + hk[m], p.pair_use[hk][m], np.full(len(groups), -INF),
                 p.provider_capacity[groups], "provider capacity")
        # block volume per holder: forced x and chosen b, at most the volume
        if p.n_holders:
            fk = kx[p.pair_forced & (p.pair_holder >= 0)]
            h_f = p.pair_holder[fk]
            h_b = p.pair_holder[b_pairs]
            has_var = v_col_of_holder >= 0
            used = np.zeros(p.n_holders, dtype=bool)
            used[h_f] = True
            used[h_b] = True
            # a holder row is needed where something may be block-funded and the volume binds
            cap_q = np.bincount(np.r_[h_f, h_b], weights=np.r_[p.pair_q[fk], p.pair_q[b_pairs]],
                                minlength=p.n_holders)
            bind_h = used & ((cap_q > p.holder_volume * (1 + 1e-12)) | has_var | all_rows)
            row_of = np.full(p.n_holders, -1, dtype=np.int64)
            hs = np.nonzero(bind_h)[0]
            row_of[hs] = np.arange(len(hs))
            rf, rb = row_of[h_f], row_of[h_b]
            vh = hs[has_var[hs]]
            rows.add(
                np.r_[rf[rf >= 0], rb[rb >= 0], row_of[vh]],
                np.r_[x0 + fk[rf >= 0], b0 + np.arange(nB)[rb >= 0], v_col_of_holder[vh]],
                np.r_[p.pair_q[fk][rf >= 0], p.pair_q[b_pairs][rb >= 0], -np.ones(len(vh))],
                np.full(len(hs), -INF), p.holder_volume[hs], "block volume",
            )
            # b <= x
            ab = np.arange(nB)
            rows.add(np.r_[ab, ab], np.r_[b0 + ab, x0 + b_pairs], np.r_[np.ones(nB), -np.ones(nB)],
                     np.full(nB, -INF), np.zeros(nB), "block within assignment")
            if design and strengthen and len(dh):
                # Valid inequalities (the strong facility-location form): where a holder's only
                # volume is a bid, nothing is block-funded (b, or x in a block-only lot) unless
                # the bid is awarded. Implied by V <= max_volume * y for integral y; they cut
                # off fractional y in the LP relaxation.
                only_bid = has_var & (p.holder_volume <= 0)
                ib = np.nonzero(only_bid[h_b])[0]
                fi = fk[only_bid[h_f]]
                cols = np.r_[b0 + ib, x0 + fi]
                ycol = v_col_of_holder[np.r_[h_b[ib], p.pair_holder[fi]]] - len(dh)
                k = np.arange(len(cols))
                rows.add(np.r_[k, k], np.r_[cols, ycol],
                         np.r_[np.ones(len(cols)), -np.ones(len(cols))],
                         np.full(len(cols), -INF), np.zeros(len(cols)), "block needs award")
        # market share cap per provider and lot
        s = p.max_provider_share
        if s is not None and len(p.lot_ids):
            lk = kx[p.pair_lot >= 0]
            nl = len(p.lot_ids)
            key = p.pair_provider[lk] * nl + p.pair_lot[lk]
            tot = np.bincount(key, weights=p.pair_q[lk], minlength=p.n_providers * nl)
            D = np.tile(p.lot_demand, p.n_providers)
            bind = (D > 0) & ((tot > 0) if all_rows else (tot > s * D * (1 + 1e-12)))
            r, groups = _group_rows(key, bind)
            m = r >= 0
            rows.add(r[m], x0 + lk[m], p.pair_q[lk][m], np.full(len(groups), -INF),
                     s * D[groups], "provider share")

    A, row_lo, row_hi = rows.matrix(col)
    return MatrixModel(
        c=np.concatenate(costs) if costs else np.zeros(0),
        offset=float(offset),
        A=A,
        row_lo=row_lo,
        row_hi=row_hi,
        col_lo=np.concatenate(lo_parts) if lo_parts else np.zeros(0),
        col_hi=np.concatenate(hi_parts) if hi_parts else np.zeros(0),
        integer=np.concatenate(int_parts) if int_parts else np.zeros(0, dtype=bool),
        demands=tuple(blocks),
        y0=y0,
        design_holders=dh,
        z0=z0,
        z_members=z_members,
        unmet_cost=np.concatenate(unmet_costs) if unmet_costs else np.zeros(0),
        row_names=tuple(k for k, n in rows.kind for _ in range(n)) if rows.n < 200_000 else (),
        row_kinds=_spans(rows.kind),
    )


def _spans(kinds: list[tuple[str, int]]) -> tuple[tuple[str, int, int], ...]:
    out, at = [], 0
    for kind, n in kinds:
        out.append((kind, at, at + n))
        at += n
    return tuple(out)


def chosen_from_values(model: MatrixModel, values: np.ndarray) -> list[np.ndarray]:
    """Pair chosen per need (-1 unmet) for each demand, from a column vector."""
    out = []
    for d in model.demands:
        p = d.problem
        xv = values[d.x0:d.x0 + p.n_pairs]
        chosen = np.full(p.n_needs, -1, dtype=np.int64)
        on = np.nonzero(xv > 0.5)[0]
        # if a need has two x > 0.5 (cannot happen within tolerances) keep the largest
        order = on[np.argsort(xv[on], kind="stable")]
        chosen[p.pair_need[order]] = order
        out.append(chosen)
    return out


def values_from_chosen(model: MatrixModel, chosen: list[np.ndarray],
                       volume: np.ndarray | None = None, award: np.ndarray | None = None
                       ) -> np.ndarray:
    """A full column vector (for a warm start) from pair choices (and design V, y)."""
    from allocator.core.evaluate import block_funding

    v = np.zeros(model.n_cols)
    for d, ch in zip(model.demands, chosen, strict=True):
        p = d.problem
        on = ch[ch >= 0]
        v[d.x0 + on] = 1.0
        v[d.u0 + np.nonzero(ch < 0)[0]] = 1.0
        vol = p.holder_volume.copy()
        if volume is not None and len(model.design_holders):
            vol[model.design_holders] += volume
        bq = block_funding(p, ch, vol)
        v[d.b0:d.b0 + len(d.b_pairs)] = bq[d.b_pairs] / p.pair_q[d.b_pairs]
    if model.y0 >= 0 and award is not None and volume is not None:
        nb = len(model.design_holders)
        v[model.y0:model.y0 + nb] = award
        v[model.y0 + nb:model.y0 + 2 * nb] = volume
        if model.z0 >= 0:
            v[model.z0:model.z0 + model.n_z] = model.z_values(award)
    return v
