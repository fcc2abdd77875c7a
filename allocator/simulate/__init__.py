"""A year of brokerage, replayed (DESIGN.md section 9.5).

A daily discrete-event simulation of a care market: referrals arrive by zone, service and
priority at the rates that keep the book near its size, packages and placements end, providers
leave and schemes open; each night a brokerage policy places the waiting referrals. Every
policy sees the same random stream (common random numbers), and the study reports, per policy
and week, people waiting and days waited, unmet hours and beds, weekly cost by term, moves and
utilisation, by zone, with 95% intervals over replications and paired differences.

``simulate(instance, policies, config)`` is the entry point; ``allocator simulate`` wraps it.
"""

from allocator.simulate.book import Night, PolicyError
from allocator.simulate.config import SimulationConfig
from allocator.simulate.policies import FirstCome, Nightly, Policy, parse_policy
from allocator.simulate.run import SimulationResult, simulate

__all__ = [
    "FirstCome",
    "Night",
    "Nightly",
    "Policy",
    "PolicyError",
    "SimulationConfig",
    "SimulationResult",
    "parse_policy",
    "simulate",
]
