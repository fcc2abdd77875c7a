"""The aggregated demand: every scenario's needs merged by type into one weighted LP.

Partial Benders (Crainic, Hewitt, Maggioni and Rei, 2016; "partial decomposition") keeps in
the master, beside the cuts, a relaxation of the scenarios' recourse that is built from the
scenarios themselves, so that the master sees from its first iteration what an award does to
the allocation, and above all what an offer that exists only with an award brings (a cut is
linear in y and cannot say it).

Here that relaxation is the *aggregated demand*. Two needs are of one **type** when they
differ only in their id: the same kind, zone, service, complexity, care group, quantity,
priority, acceptable zones and current provider, hence the same eligible offers, costs and
capacity use. Type t has mass ``m_t = sum_s w_s (number of needs of type t in scenario s)``.
The aggregated model is the recourse model of one demand holding one need per type, in which
every recourse column of type t (x, u, b) stands for a fraction of that mass:

* the need row stays ``sum_o x[t,o] + u[t] = 1`` (fractions of the type);
* in every capacity, volume and share row a coefficient of a type-t column is multiplied by
  m_t, and so is its cost; the rows between columns of one type and an award
  (``b <= x``, ``x <= y``, ``b <= y``) stay as they are (a fraction is at most 1);
* x is continuous; the transfer constant is ``penalty x (mass of the types with a current
  provider)``;
* the provider share rows use the weighted mean of the scenarios' own lot demands (a group
  of scenarios: of its members').

**Validity.** Let x_s be any feasible LP recourse of scenario s at awards (y, V). The mixture
``X[t,o] = sum_s w_s sum_{n in s of type t} x_s[n,o] / m_t`` (and likewise u, b) satisfies
every row of the aggregated model: the need rows by construction, the capacity and volume
rows because their right-hand sides do not depend on the scenario (so the weighted sum of
feasible rows is feasible), the share rows because the weighted mean of the scenarios'
right-hand sides is the aggregated one. Its cost is ``sum_s w_s cost_s(x_s)``. So the
aggregated LP value at (y, V) is at most the weighted mean of the scenarios' LP recourse,
itself at most their MIP recourse: ``sum_s w_s theta_s >= cost(X)`` is a valid row of the
master (Jensen's inequality for a linear program's value in its right-hand side, made
explicit). ``models/lot_design.md`` states it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from allocator.core.problem import Problem
from allocator.design.scenarios import Demand
from allocator.exact.model import MatrixModel, build
from allocator.instance.schema import Instance, Need

# rows between columns of one type and an award: fractions, not masses (not scaled)
FRACTION_ROWS = ("need", "block within assignment", "award capacity needs award",
                 "block needs award")


@dataclass(frozen=True)
class Aggregate:
    """The aggregated demand's design model (first-stage columns y, V, z first)."""

    model: MatrixModel
    mass: np.ndarray  # m_t per type
    types: int


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def need_types(demands: Sequence[Demand]) -> tuple[list[Need], np.ndarray]:
    """One representative need per type (ids ``~type1``, ...) and each type's mass m_t."""
    index: dict[Any, int] = {}
    reps: list[Need] = []
    mass: list[float] = []
    for demand in demands:
        for need in demand.needs:
            key = _hashable(need.model_dump(exclude={"id"}))
            t = index.get(key)
            if t is None:
                t = index[key] = len(reps)
                reps.append(need.model_copy(update={"id": f"~type{t + 1}"}))
                mass.append(0.0)
            mass[t] += float(demand.weight)
    return reps, np.asarray(mass, dtype=float)


def aggregate_model(instance: Instance, demands: Sequence[Demand],
                    lot_demand: np.ndarray) -> Aggregate | None:
    """The aggregated demand's design model (module docstring); None without any need."""
    reps, mass = need_types(demands)
    if not reps:
        return None
    p = Problem.from_instance(instance, mode="design", needs=tuple(reps), scenario=None)
    # the share rows' D[l]: the weighted mean of the demands' own (each scenario's share rows
    # use its own lot demand); ``lot_demand`` (clarification 7) is for the design rows
    own = p.need_cell_lot >= 0
    share_demand = np.bincount(p.need_cell_lot[own], weights=(mass * p.need_q)[own],
                               minlength=len(p.lot_ids))
    p = replace(p, lot_demand=share_demand)
    model = build([(p, 1.0)], design=True, expected_lot_demand=lot_demand, strengthen=True,
                  all_rows=True)
    (d,) = model.demands
    nP, nN, nB = p.n_pairs, p.n_needs, len(d.b_pairs)
    scale = np.ones(model.n_cols)
    scale[d.x0:d.x0 + nP] = mass[p.pair_need]
    scale[d.u0:d.u0 + nN] = mass
    scale[d.b0:d.b0 + nB] = mass[p.pair_need[d.b_pairs]]
    scaled_rows = np.ones(model.n_rows, dtype=bool)
    scaled_rows[model.rows_of(*FRACTION_ROWS)] = False
    keep = sp.diags((~scaled_rows).astype(float))
    A = (keep @ model.A + sp.diags(scaled_rows.astype(float)) @ model.A @ sp.diags(scale)).tocsr()
    A.eliminate_zeros()
    integer = model.integer.copy()
    integer[d.x0:] = False  # fractions of a type's mass
    has_current = p.need_current >= 0
    offset = (model.offset - p.transfer_constant
              + p.transfer_penalty * float(mass[has_current].sum()))
    unmet = None if model.unmet_cost is None else model.unmet_cost * scale
    scaled = replace(model, c=model.c * scale, A=A, offset=float(offset), integer=integer,
                     unmet_cost=unmet)
    return Aggregate(scaled, mass, len(reps))


def grouped_aggregates(instance: Instance, demands: Sequence[Demand], lot_demand: np.ndarray,
                       groups: int) -> list[tuple[np.ndarray, MatrixModel]]:
    """The aggregated demands of ``groups`` groups of scenarios, for the Benders master.

    Scenarios are sorted by their total quantity and cut into contiguous groups of about
    equal size: a group of alike scenarios loses less to the averaging (Jensen's gap). Each
    group's model has its members' weights renormalised to sum to 1; the master weighs it
    by the group's weight. Returns (scenario indices, model) per group; none for ``groups``
    0 or no need.
    """
    if groups <= 0 or not demands:
        return []
    total = np.array([sum(n.quantity for n in d.needs) for d in demands], dtype=float)
    order = np.argsort(total, kind="stable")
    out = []
    for members in np.array_split(order, min(groups, len(demands))):
        weight = float(sum(demands[i].weight for i in members))
        if weight <= 0:
            continue
        group = [Demand(demands[i].id, demands[i].weight / weight, demands[i].needs)
                 for i in members]
        agg = aggregate_model(instance, group, lot_demand)
        if agg is not None:
            out.append((np.sort(members), agg.model))
    return out
