"""The random stream of one replication, drawn up front (common random numbers).

Every policy of a replication replays the same stream: the same referrals arriving on the same
days in the same order, ending on the same days, and the same providers leaving and schemes
opening. Nothing random happens while a policy runs, so the policies differ only by what they
decide. Each kind of draw has its own child of the replication's seed, so that changing, say,
the exit rate leaves the arrivals as they were; and every draw is made day after day (per
cell) or event after event, so the length of the replay only decides where the stream stops:
the first 13 weeks of a 52-week study are the 13-week study of the same seed.

Arrivals (Little's law): the book holds ``N[c]`` needs in cell c = (zone, service) and a need
stays ``D[s]`` days on average, so referrals arrive at ``N[c] / D[s]`` a day (Poisson) and the
book stays near its size. A referral copies a need of the book drawn at random from its cell
(complexity, care group, hours, priority, acceptable zones), so the book keeps its mix.
Durations are exponential: the needs already in the book then have remaining durations of the
same law, and the book is stable from the first day.

Capacity changes: each provider leaves at an exponential time (``provider_exit_rate`` a year:
it leaves within the replay with chance ``1 - exp(-rate * years)``), and schemes open as a
Poisson process (``scheme_opening_rate`` a year per existing scheme), each a copy of a bed
offer drawn at random, as big as an existing scheme drawn at random; neither happens on day 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.instance.schema import Instance, Need, Offer
from allocator.simulate.config import SimulationConfig


@dataclass(frozen=True, eq=False)
class Stream:
    """Everything random in one replication.

    Day numbers run from 0 (the first simulated day). A need is in the book on the days
    ``arrival <= day < end``.

    Attributes
    ----------
    replication
        Its number (0-based).
    initial_end
        End day of each of the instance's needs (in the book on day 0).
    arrival_day, arrival_template, arrival_end
        Per referral, in arrival order: the day it arrives, the instance need it copies, the
        day it ends.
    exit_day, exit_provider
        Providers leaving the market (provider index), sorted by day.
    opening_day, opening_template, opening_capacity
        New schemes: the day they open, the bed offer they copy (zone, service, complexity,
        care groups, price) and their beds.
    """

    replication: int
    initial_end: np.ndarray
    arrival_day: np.ndarray
    arrival_template: np.ndarray
    arrival_end: np.ndarray
    exit_day: np.ndarray
    exit_provider: np.ndarray
    opening_day: np.ndarray
    opening_template: np.ndarray
    opening_capacity: np.ndarray

    @property
    def n_arrivals(self) -> int:
        return len(self.arrival_day)


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """The seed of each replication: children of ``SeedSequence(seed)``."""
    return list(np.random.SeedSequence(seed).spawn(replications))


DAYS_A_YEAR = 364  # 52 weeks: ``SimulationConfig.weeks / 52`` years are ``7 * weeks`` days


def draw(instance: Instance, config: SimulationConfig, replication: int) -> Stream:
    """Draw replication ``replication``'s stream (deterministic for the config's seed).

    The stream of a shorter replay is the beginning of a longer one's: every kind of draw has
    its own generator per cell (arrivals) or per process (exits, openings), drawn day after
    day or event after event, so ``weeks`` only decides where the stream stops. A 13-week and
    a 52-week study with one seed see the same first 13 weeks."""
    seq = replication_seeds(config.seed, replication + 1)[replication]
    seq_cells, seq_initial, seq_exit, seq_open = seq.spawn(4)
    days = config.days
    needs = instance.needs
    mean_days = np.array([7.0 * config.mean_weeks[n.service] for n in needs])

    # the book's own needs end after an exponential time (memoryless: same law as new ones)
    initial_end = _end(np.random.default_rng(seq_initial), np.zeros(len(needs), dtype=np.int64),
                       mean_days)

    # arrivals per cell (zone, service) at book size / mean duration a day; each cell draws
    # its daily counts, the needs they copy, their order within the day and their durations
    # from generators of its own
    cells: dict[tuple[str, str], list[int]] = {}
    for i, n in enumerate(needs):
        cells.setdefault((n.zone, n.service), []).append(i)
    day_parts: list[np.ndarray] = []
    template_parts: list[np.ndarray] = []
    key_parts: list[np.ndarray] = []
    end_parts: list[np.ndarray] = []
    keys = sorted(cells)
    for key, cell_seq in zip(keys, seq_cells.spawn(len(keys)), strict=True):
        rng_count, rng_pick, rng_order, rng_end = (np.random.default_rng(s)
                                                   for s in cell_seq.spawn(4))
        members = np.array(cells[key], dtype=np.int64)
        rate = len(members) / (7.0 * config.mean_weeks[key[1]])
        counts = rng_count.poisson(rate, size=days)
        arrival_days = np.repeat(np.arange(days, dtype=np.int64), counts)
        picked = members[rng_pick.integers(0, len(members), size=len(arrival_days))]
        day_parts.append(arrival_days)
        template_parts.append(picked)
        key_parts.append(rng_order.random(len(arrival_days)))
        end_parts.append(_end(rng_end, arrival_days, mean_days[picked]))
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    arrival_day = np.concatenate(day_parts) if day_parts else empty_i
    template = np.concatenate(template_parts) if template_parts else empty_i
    arrival_end = np.concatenate(end_parts) if end_parts else empty_i
    order_key = np.concatenate(key_parts) if key_parts else empty_f
    # arrival order: by day, and in a random order within the day (the phone rings at random)
    order = np.lexsort((order_key, arrival_day))
    arrival_day, template, arrival_end = arrival_day[order], template[order], arrival_end[order]

    # providers leave: each at an exponential time (rate a year), from the second day
    n_prov = len(instance.providers)
    wait = np.random.default_rng(seq_exit).exponential(1.0, size=n_prov)
    exit_provider = np.zeros(0, dtype=np.int64)
    exit_day = np.zeros(0, dtype=np.int64)
    if config.provider_exit_rate > 0 and n_prov:
        day_of = 1 + np.floor(wait / config.provider_exit_rate * DAYS_A_YEAR)
        exit_provider = np.nonzero(day_of < days)[0].astype(np.int64)
        exit_day = day_of[exit_provider].astype(np.int64)

    # schemes open: a Poisson process over the replay (rate a year per existing scheme), each
    # a copy of a bed offer drawn at random, as big as an existing scheme drawn at random
    bed_offers = np.array([i for i, o in enumerate(instance.offers) if o.unit == "beds"],
                          dtype=np.int64)
    sizes = np.array([instance.offers[i].capacity for i in bed_offers], dtype=float)
    rng_gap, rng_template, rng_size = (np.random.default_rng(s) for s in seq_open.spawn(3))
    opening_day_list: list[int] = []
    rate_open = config.scheme_opening_rate * len(bed_offers)
    if rate_open > 0:
        t = 0.0
        while True:
            t += float(rng_gap.exponential(1.0)) / rate_open
            day = 1 + int(np.floor(t * DAYS_A_YEAR))
            if day >= days:
                break
            opening_day_list.append(day)
    n_open = len(opening_day_list)
    opening_day = np.array(opening_day_list, dtype=np.int64)
    opening_template = bed_offers[rng_template.integers(0, max(1, len(bed_offers)),
                                                        size=n_open)] if n_open else empty_i
    opening_capacity = (sizes[rng_size.integers(0, len(sizes), size=n_open)]
                        if n_open else empty_f)
    e = np.argsort(exit_day, kind="stable")
    return Stream(
        replication=replication,
        initial_end=initial_end,
        arrival_day=arrival_day,
        arrival_template=template,
        arrival_end=arrival_end,
        exit_day=exit_day[e],
        exit_provider=exit_provider[e],
        opening_day=opening_day,
        opening_template=opening_template,
        opening_capacity=opening_capacity,
    )


def _end(rng: np.random.Generator, start: np.ndarray, mean_days: np.ndarray) -> np.ndarray:
    """End days: start + an exponential duration in whole days (at least one day)."""
    length = np.ceil(rng.exponential(1.0, size=len(start)) * mean_days).astype(np.int64)
    return start + np.maximum(length, 1)


def arrival_id(j: int) -> str:
    """The need id of referral ``j`` of a replication."""
    return f"R{j + 1:06d}"


def universe(instance: Instance, stream: Stream) -> Instance:
    """The instance holding every need and offer of the replication.

    Needs: the instance's own (in the same order, current providers dropped: the simulation
    holds who serves whom), then every referral in arrival order. Offers: the instance's own,
    then the schemes that open during the replay (capacity as they open; the simulation keeps
    them at 0 until then).
    """
    base = [n.model_copy(update={"current_provider": None}) if n.current_provider else n
            for n in instance.needs]
    arrivals = [
        instance.needs[int(t)].model_copy(update={"id": arrival_id(j), "current_provider": None})
        for j, t in enumerate(stream.arrival_template)
    ]
    new_offers: list[Offer] = []
    for k, (t, cap) in enumerate(zip(stream.opening_template, stream.opening_capacity,
                                     strict=True)):
        template = instance.offers[int(t)]
        name = f"{template.scheme or template.key}~new{k + 1}"
        new_offers.append(template.model_copy(update={
            "id": name, "scheme": name, "capacity": float(cap)}))
    needs: list[Need] = base + arrivals
    return instance.model_copy(update={"needs": needs,
                                       "offers": list(instance.offers) + new_offers})
