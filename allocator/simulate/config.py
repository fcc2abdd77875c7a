"""Parameters of a simulation: a small validated object with defaults.

Every figure that is an assumption (not in the seed papers) is named here, with why, so that it
can be argued with and changed from the command line or a JSON/TOML file.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Assumption: mean length of a package or placement, in weeks, by service. The seeds give
# stock figures only (001: ~6,000 people and 40,000 hours a week, "fairly stable"; 000: "around
# 2,700 people at any one time"), not durations. Home care mixes short reablement and end-of-life
# packages with long ones (a year on average); unregulated support runs longer; a
# supported-living tenancy (003) lasts years.
MEAN_WEEKS: dict[str, float] = {
    "personal_care": 52.0,
    "individual_support": 104.0,
    "group_support": 104.0,
    "supported_living": 156.0,
}

# 001: priorities that brokers deal with first (people in hospital awaiting discharge, urgent
# referrals); DESIGN 9.5: offered first under every policy.
FIRST_PRIORITIES: tuple[str, ...] = ("hospital_discharge", "urgent", "urgent_bed")

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class SimulationConfig(BaseModel):
    """What to simulate and how (validated; see the module docstring for the assumptions).

    Attributes
    ----------
    weeks
        Length of the replay (days are simulated one by one).
    replications
        Independent replications (each its own random stream, shared by every policy).
    seed
        Seed of the whole study: replication r uses the r-th child of ``SeedSequence(seed)``.
    mean_weeks
        Mean duration of a package or placement by service (exponential durations, so that
        the book's remaining durations have the same law as new ones: the book is stable).
    provider_exit_rate
        Rate a year at which each provider leaves the market (its people go back to the
        waiting list): it leaves after an exponential time, within a year with chance
        ``1 - exp(-rate)``. Assumption: 0.01, about 1% a year (001: "a reducing market of care
        provision").
    scheme_opening_rate
        New supported-living schemes per existing scheme per year (seed 004: new schemes open
        under the framework). Assumption: 2% a year.
    first_priorities
        Priorities offered first, under every policy, before the other referrals.
    quality_points, price_points
        The DPS ranking of first-come brokerage (DESIGN 9.5: 60 / 40).
    solver, time_limit, gap, threads
        The exact solver of the nightly policies (each night's models are small). The gap is
        relative to the night's objective, which holds the unmet penalty of everyone waiting:
        1e-4 is a few pounds a week; a tighter one spends seconds a night proving knapsack
        optima among slivers of spare capacity. A solve that reaches the time limit keeps its
        best answer (and the replay then depends on the machine's speed: see the report's
        ``time_limited`` count).
    max_candidates
        ``nightly_moves``: at most this many people in care are offered a move in one night's
        model (those whose move could let a waiting referral in, or save money).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    weeks: int = Field(52, ge=1, le=520)
    replications: int = Field(20, ge=1)
    seed: int = Field(0, ge=0)
    mean_weeks: dict[str, Positive] = Field(default_factory=lambda: dict(MEAN_WEEKS))
    provider_exit_rate: NonNegative = 0.01
    scheme_opening_rate: NonNegative = 0.02
    first_priorities: tuple[str, ...] = FIRST_PRIORITIES
    quality_points: NonNegative = 60.0
    price_points: NonNegative = 40.0
    solver: str = "highs"
    time_limit: Positive = 10.0
    gap: float = Field(1e-4, ge=0)
    threads: int = Field(1, ge=1)
    max_candidates: int = Field(30, ge=0)

    @field_validator("mean_weeks")
    @classmethod
    def _all_services(cls, value: dict[str, float]) -> dict[str, float]:
        missing = set(MEAN_WEEKS) - set(value)
        unknown = set(value) - set(MEAN_WEEKS)
        if unknown:
            raise ValueError(f"unknown service(s) {sorted(unknown)}; services are "
                             f"{', '.join(MEAN_WEEKS)}")
        if missing:
            value = {**MEAN_WEEKS, **value}
        return value

    @property
    def days(self) -> int:
        return 7 * self.weeks
