"""Importers of the published OR-Library benchmarks (GAP and capacitated facility location).

The files and their known optima are in ``../shared/benchmarks/orlib`` (its README gives the
formats). ``models/benchmarks.md`` states the mapping into the instance schema exactly; in
short:

* **GAP** (``gap1``..``gap12`` maximise, ``gapa``..``gapd`` and Yagiura's files minimise): each
  job a need of quantity 1 in its own zone, each agent a provider with capacity ``b_i``, each
  (agent, job) an offer ``a{i}-j{j}`` with travel factor ``a_ij`` (its resource use) and price
  ``c_ij`` (minimisation) or ``M - c_ij`` with ``M = max c`` (maximisation, reported back as
  ``n M - objective``).
* **CFLP** (OR-Library ``cap*`` and ``capa/b/c``, Holmberg ``p1``..``p71``): each facility a
  provider with a block bid (award cost ``f_i``, max volume ``s_i``, rate 0) in one block-only
  reservation lot; each customer a need of ``d_j`` hours in its own zone; an offer per
  (facility, customer) at price ``c_ij / d_j``. Needs are unsplittable, so this is the
  single-source problem and its single-source optima apply.

Files are read as whitespace-separated tokens, never by line (the README: copies differ in line
breaks); NUL padding is whitespace and anything after the expected count is ignored (Holmberg).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from allocator.generate.build import validate_document
from allocator.instance.schema import BenchmarkInfo, Instance

Sense = Literal["min", "max"]
CflpFormat = Literal["orlib", "holmberg"]

# capopt.txt (and README section 3.4): the capacities that replace the word "capacity" in the
# capa/capb/capc templates, in the order of OR-Library's list of optima.
TEMPLATE_CAPACITIES: dict[str, tuple[float, ...]] = {
    "capa": (8000.0, 10000.0, 12000.0, 14000.0),
    "capb": (5000.0, 6000.0, 7000.0, 8000.0),
    "capc": (5000.0, 5750.0, 6500.0, 7250.0),
}

# OR-Library's gap1..gap12 are maximisation problems (README section 2.1); every other GAP file
# here is minimised.
_MAX_GAP_FILE = re.compile(r"gap\d+")
_HOLMBERG_FILE = re.compile(r"p\d+")

KINDS = ("orlib-gap", "orlib-cap")


# ------------------------------------------------------------------------------- locations

def shared_dir() -> Path:
    """The shared folder: ``$ALLOCATOR_SHARED``, else ``../shared`` from the repository root."""
    env = os.environ.get("ALLOCATOR_SHARED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared"


def orlib_dir() -> Path:
    """The OR-Library benchmark folder: ``$ALLOCATOR_ORLIB``, else inside :func:`shared_dir`."""
    env = os.environ.get("ALLOCATOR_ORLIB")
    if env:
        return Path(env)
    return shared_dir() / "benchmarks" / "orlib"


def _source(path: Path) -> str:
    """The file's path relative to the orlib folder when inside it, else its name."""
    try:
        return path.resolve().relative_to(orlib_dir().resolve()).as_posix()
    except ValueError:
        return path.name


# ------------------------------------------------------------------------------- parsing

def read_tokens(path: str | Path) -> list[str]:
    """Whitespace-separated tokens of a file; NUL bytes count as whitespace."""
    raw = Path(path).read_bytes().replace(b"\x00", b" ")
    return raw.decode("ascii", errors="replace").split()


def _numbers(tokens: Sequence[str], path: Path, what: str) -> np.ndarray:
    try:
        return np.array([float(t) for t in tokens], dtype=float)
    except ValueError as error:
        raise ValueError(f"{path}: {what}: not a number ({error})") from None


@dataclass(frozen=True)
class GapData:
    """One GAP problem: ``cost[i, j]`` and ``resource[i, j]`` for agent i, job j; capacities."""

    cost: np.ndarray
    resource: np.ndarray
    capacity: np.ndarray

    @property
    def m(self) -> int:
        return self.cost.shape[0]

    @property
    def n(self) -> int:
        return self.cost.shape[1]


@dataclass(frozen=True)
class CflpData:
    """One CFLP problem: site capacity and fixed cost, customer demand, ``cost[i, j]``.

    ``cost[i, j]`` is the cost of serving *all* of customer j's demand from site i.
    """

    capacity: np.ndarray
    fixed: np.ndarray
    demand: np.ndarray
    cost: np.ndarray

    @property
    def m(self) -> int:
        return self.cost.shape[0]

    @property
    def n(self) -> int:
        return self.cost.shape[1]


def parse_gap(path: str | Path) -> list[GapData]:
    """The problems of a GAP file: OR-Library (leading count P) or Yagiura (no P)."""
    path = Path(path)
    tokens = read_tokens(path)
    if len(tokens) < 2:
        raise ValueError(f"{path}: too short for a GAP file")
    head = _numbers(tokens[:2], path, "header")
    m, n = int(head[0]), int(head[1])
    if len(tokens) == 2 + 2 * m * n + m:  # a single problem without the leading P
        count, pos = 1, 0
    else:
        count, pos = int(head[0]), 1
    out = []
    for k in range(count):
        if pos + 2 > len(tokens):
            raise ValueError(f"{path}: problem {k + 1} is missing (file ends early)")
        m, n = (int(v) for v in _numbers(tokens[pos:pos + 2], path, f"problem {k + 1} size"))
        size = 2 + 2 * m * n + m
        if pos + size > len(tokens):
            raise ValueError(f"{path}: problem {k + 1} ({m} x {n}) is cut short")
        v = _numbers(tokens[pos + 2:pos + size], path, f"problem {k + 1}")
        out.append(GapData(cost=v[: m * n].reshape(m, n),
                           resource=v[m * n: 2 * m * n].reshape(m, n),
                           capacity=v[2 * m * n:]))
        pos += size
    return out


def is_holmberg(path: str | Path) -> bool:
    """Holmberg's files are named ``p<k>`` (and live in a ``holmberg`` folder here)."""
    path = Path(path)
    return path.parent.name == "holmberg" or bool(_HOLMBERG_FILE.fullmatch(path.name))


def parse_cflp(path: str | Path, *, fmt: CflpFormat | None = None,
               capacity: float | None = None) -> list[CflpData]:
    """The problems of a capacitated facility location file.

    Parameters
    ----------
    path
        An OR-Library ``cap*`` file or a Holmberg ``p<k>`` file.
    fmt
        ``"orlib"`` (per customer: demand, then its cost at every site) or ``"holmberg"``
        (all demands, then the costs site by site); guessed from the name when None.
    capacity
        For the ``capa/capb/capc`` templates, whose capacities are the word ``capacity``: the
        value to substitute. When None, one problem per value of OR-Library's list
        (:data:`TEMPLATE_CAPACITIES`).
    """
    path = Path(path)
    fmt = fmt or ("holmberg" if is_holmberg(path) else "orlib")
    tokens = read_tokens(path)
    if len(tokens) < 2:
        raise ValueError(f"{path}: too short for a facility location file")
    m, n = (int(v) for v in _numbers(tokens[:2], path, "header"))
    size = 2 + 2 * m + n + m * n
    if len(tokens) < size:
        raise ValueError(f"{path}: expected {size} numbers for {m} sites x {n} customers, "
                         f"found {len(tokens)}")
    sites = tokens[2:2 + 2 * m]
    cap_tokens = sites[0::2]
    fixed = _numbers(sites[1::2], path, "fixed costs")
    rest = _numbers(tokens[2 + 2 * m:size], path, "demands and costs")
    if fmt == "holmberg":
        demand, cost = rest[:n], rest[n:].reshape(m, n)
    else:
        table = rest.reshape(n, m + 1)
        demand, cost = table[:, 0], table[:, 1:].T.copy()

    template = any(t.lower() == "capacity" for t in cap_tokens)
    if template:
        if capacity is not None:
            values: tuple[float, ...] = (float(capacity),)
        elif path.stem in TEMPLATE_CAPACITIES:
            values = TEMPLATE_CAPACITIES[path.stem]
        else:
            raise ValueError(f"{path}: capacities are the word 'capacity'; give the capacity "
                             "to substitute")
        return [CflpData(np.full(m, v), fixed, demand, cost) for v in values]
    if capacity is not None:
        raise ValueError(f"{path}: has its own capacities; 'capacity' only fills the capa/b/c "
                         "templates")
    return [CflpData(_numbers(cap_tokens, path, "capacities"), fixed, demand, cost)]


# ------------------------------------------------------------------------------- instances

def gap_instance(data: GapData, *, name: str, source: str, index: int,
                 sense: Sense) -> Instance:
    """One GAP problem as an instance (mapping in ``models/benchmarks.md``).

    Minimisation: price ``c_ij``. Maximisation: price ``M - c_ij`` with ``M = max c``, and
    ``benchmark`` reports ``n M - objective``. Every job's quantity is ``s = min(1, min a)`` and
    its travel factor on agent i is ``a_ij / s`` (>= 1), so that capacity use is ``a_ij``
    exactly; prices are divided by ``s`` likewise. (All published files have ``a_ij >= 1``, so
    ``s = 1``.) The unmet penalty exceeds what any complete assignment costs, so every job is
    assigned whenever the problem is feasible.
    """
    m, n = data.m, data.n
    if (data.resource <= 0).any():
        raise ValueError(f"{source} #{index}: a resource use a_ij <= 0 cannot be a travel factor")
    s = min(1.0, float(data.resource.min()))
    top = float(data.cost.max())
    price = (top - data.cost) if sense == "max" else data.cost
    penalty = float(price.max(axis=0).sum()) / s + 1.0
    zones = [{"id": f"j{j}", "name": f"job {j}"} for j in range(1, n + 1)]
    providers = [{"id": f"a{i}", "name": f"agent {i}", "quality": 100.0, "capacity": float(b)}
                 for i, b in enumerate(data.capacity.tolist(), start=1)]
    offers = [
        {"id": f"a{i + 1}-j{j + 1}", "provider": f"a{i + 1}", "zone": f"j{j + 1}",
         "service": "personal_care", "unit": "hours", "price": p / s,
         "capacity": float(data.capacity[i]), "max_complexity": "highly_complex",
         "travel_factor": a / s}
        for i in range(m)
        for j, (p, a) in enumerate(zip(price[i].tolist(), data.resource[i].tolist(),
                                       strict=True))
    ]
    needs = [{"id": f"j{j}", "kind": "package", "zone": f"j{j}", "service": "personal_care",
              "complexity": "less_complex", "care_group": "OP", "quantity": s}
             for j in range(1, n + 1)]
    return validate_document({
        "name": name,
        "zones": zones,
        "providers": providers,
        "offers": offers,
        "needs": needs,
        "policy": {"unmet_penalty": {"standard": penalty}},
        "benchmark": {
            "problem": "GAP", "source": source, "index": index, "sense": sense,
            "offset": n * top if sense == "max" else 0.0,
            "scale": -1.0 if sense == "max" else 1.0,
        },
    })


def cflp_instance(data: CflpData, *, name: str, source: str, index: int,
                  variant: str = "") -> Instance:
    """One facility location problem as a single-source design instance.

    Each site i is a provider with a block bid in the one lot ``sites`` (block-only and a
    reservation lot): award cost ``f_i``, rate 0, volume up to ``s_i``. Customer j is a need of
    ``d_j`` hours in zone ``c{j}``; offer ``f{i}-c{j}`` prices it at ``c_ij / d_j``, so that
    serving it costs ``c_ij``. Unmet costs more than any complete solution (penalty per hour
    ``(sum f + sum_j max_i c_ij) / min d + 1``), so an unmet need means the single-source problem
    is infeasible.
    """
    m, n = data.m, data.n
    if (data.demand <= 0).any():
        raise ValueError(f"{source} #{index}: a customer demand is not positive")
    bound = float(data.fixed.sum() + data.cost.max(axis=0).sum())
    penalty = math.ceil(bound / float(data.demand.min())) + 1.0
    zones = [{"id": f"c{j}", "name": f"customer {j}"} for j in range(1, n + 1)]
    providers = [{"id": f"f{i}", "name": f"facility {i}", "quality": 100.0, "capacity": float(c)}
                 for i, c in enumerate(data.capacity.tolist(), start=1)]
    unit_price = data.cost / data.demand[None, :]
    offers = [
        {"id": f"f{i + 1}-c{j + 1}", "provider": f"f{i + 1}", "zone": f"c{j + 1}",
         "service": "personal_care", "unit": "hours", "price": p,
         "capacity": float(data.capacity[i]), "max_complexity": "highly_complex"}
        for i in range(m)
        for j, p in enumerate(unit_price[i].tolist())
    ]
    needs = [{"id": f"c{j}", "kind": "package", "zone": f"c{j}", "service": "personal_care",
              "complexity": "less_complex", "care_group": "OP", "quantity": d}
             for j, d in enumerate(data.demand.tolist(), start=1)]
    lot = {"id": "sites", "name": "facilities (block-only, reservation)", "unit": "hours",
           "zones": [z["id"] for z in zones], "services": ["personal_care"],
           "complexities": ["less_complex"], "framework": False, "reservation": True}
    bids = [{"provider": f"f{i}", "lot": "sites", "rate": 0.0, "min_volume": 0.0,
             "max_volume": float(c), "award_cost": float(f)}
            for i, (c, f) in enumerate(zip(data.capacity.tolist(), data.fixed.tolist(),
                                           strict=True), start=1)]
    return validate_document({
        "name": name,
        "zones": zones,
        "providers": providers,
        "offers": offers,
        "needs": needs,
        "lots": [lot],
        "block_bids": bids,
        "policy": {"unmet_penalty": {"standard": penalty}},
        "benchmark": {"problem": "CFLP-single-source", "source": source, "index": index,
                      "sense": "min", "variant": variant},
    })


def import_gap(path: str | Path, *, sense: Sense | None = None) -> list[Instance]:
    """Every problem of a GAP file, in file order.

    Parameters
    ----------
    path
        ``gap1.txt``..``gap12.txt`` (maximisation), ``gapa.txt``..``gapd.txt`` or a Yagiura
        file (minimisation).
    sense
        The objective sense to import; the file's own when None. OR-Library's maximisation files
        can be imported as their minimisation variant (``known_values.csv`` lists both optima).
    """
    path = Path(path)
    own: Sense = "max" if _MAX_GAP_FILE.fullmatch(path.stem) else "min"
    sense = sense or own
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', not {sense!r}")
    suffix = "" if sense == own else f"-{sense}"
    source = _source(path)
    return [gap_instance(d, name=f"{path.stem}-{k}{suffix}", source=source, index=k, sense=sense)
            for k, d in enumerate(parse_gap(path), start=1)]


def import_cap(path: str | Path, *, capacity: float | None = None,
               fmt: CflpFormat | None = None) -> list[Instance]:
    """Every problem of a facility location file (single-source design instances).

    ``capa/capb/capc`` give four problems, one per capacity of OR-Library's list (or one, for the
    ``capacity`` given); the others one. ``fmt`` as in :func:`parse_cflp`.
    """
    path = Path(path)
    source = _source(path)
    problems = parse_cflp(path, fmt=fmt, capacity=capacity)
    template = path.stem in TEMPLATE_CAPACITIES
    out = []
    for k, d in enumerate(problems, start=1):
        variant, index = "", k
        if template or capacity is not None:
            cap = float(d.capacity[0])
            variant = f"capacity {cap:g}"
            caps = TEMPLATE_CAPACITIES.get(path.stem, ())
            index = caps.index(cap) + 1 if cap in caps else k
        name = f"{path.stem}-{index}"
        out.append(cflp_instance(d, name=name, source=source, index=index, variant=variant))
    return out


def import_file(kind: str, path: str | Path, **options) -> list[Instance]:
    """Import a published benchmark file: ``kind`` is ``"orlib-gap"`` or ``"orlib-cap"``.

    ``options`` go to :func:`import_gap` (``sense``) or :func:`import_cap` (``capacity``,
    ``fmt``).
    """
    if kind in ("orlib-gap", "gap"):
        return import_gap(path, **options)
    if kind in ("orlib-cap", "cap", "cflp"):
        return import_cap(path, **options)
    raise ValueError(f"unknown benchmark kind {kind!r}; choose one of {', '.join(KINDS)}")


def write_instances(instances: Sequence[Instance], out_dir: str | Path,
                    stem: str | None = None) -> list[Path]:
    """Write one JSON per problem, ``<stem>-<k>.json`` (k from 1 in file order).

    ``stem`` defaults to the source file's stem (from ``benchmark.source``). For the capa/b/c
    templates k is the capacity's position in OR-Library's list.
    """
    from allocator.instance.io import save_instance

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for k, inst in enumerate(instances, start=1):
        info = inst.benchmark
        base = stem or (Path(info.source).stem if info is not None else inst.name)
        index = info.index if info is not None else k
        target = out / f"{base}-{index}.json"
        save_instance(inst, target)
        written.append(target)
    return written


# ------------------------------------------------------------------------------- known values

class KnownValue(NamedTuple):
    """A published value: best known objective, best proven bound, and status.

    ``status`` is ``optimal``, ``open`` or ``infeasible`` (then both values are None). Values
    are in the problem's own sense and units.
    """

    best_known: float | None
    dual_bound: float | None
    status: str


@cache
def _known_table(path: str) -> tuple[dict[str, str], ...]:
    with open(path, newline="") as f:
        return tuple(csv.DictReader(f))


def known_value(file: str | Path, index: int = 1, variant: str = "min") -> KnownValue:
    """The known value of problem ``index`` of ``file`` from ``known_values.csv``.

    Parameters
    ----------
    file
        The file as in the CSV (``gap/gap1.txt``), or its name or stem (``gap1``, ``p1``).
    index
        1-based problem number in the file (for capa/b/c: the capacity's position in
        OR-Library's list, see :data:`TEMPLATE_CAPACITIES`).
    variant
        ``"min"`` or ``"max"`` for GAP; ``"single-source"`` or ``"multi-source"`` for CFLP.
    """
    rows = _known_table(str(orlib_dir() / "known_values.csv"))
    name = Path(str(file)).name
    stem = Path(name).stem
    matches = [r for r in rows if r["file"] == str(file) or Path(r["file"]).name == name
               or Path(r["file"]).stem == stem]
    if variant in ("min", "max"):
        matches = [r for r in matches if r["problem"] == "GAP" and r["sense"] == variant]
    elif variant in ("single-source", "multi-source"):
        matches = [r for r in matches if r["problem"] == f"CFLP-{variant}"]
    else:
        raise ValueError(f"variant must be min, max, single-source or multi-source: {variant!r}")
    if stem in TEMPLATE_CAPACITIES:
        caps = TEMPLATE_CAPACITIES[stem]
        if not 1 <= index <= len(caps):
            raise KeyError(f"{file}: index {index} outside 1..{len(caps)}")
        wanted = f"{stem}-{caps[index - 1]:g}"
        matches = [r for r in matches if r["name"] == wanted]
    else:
        matches = [r for r in matches if int(r["index"]) == index]
    if len(matches) != 1:
        raise KeyError(f"no single known value for {file} #{index} ({variant}): "
                       f"{len(matches)} rows match")
    row = matches[0]

    def value(text: str) -> float | None:
        return float(text) if text.strip() else None

    return KnownValue(value(row["best_known"]), value(row["dual_bound"]), row["status"])


def known_value_of(instance: Instance) -> KnownValue:
    """The known value of an imported instance (from its ``benchmark`` information)."""
    info: BenchmarkInfo | None = instance.benchmark
    if info is None:
        raise ValueError(f"{instance.name}: not an imported benchmark (no 'benchmark' section)")
    variant = info.sense if info.problem == "GAP" else info.problem.removeprefix("CFLP-")
    return known_value(info.source, info.index, variant)
