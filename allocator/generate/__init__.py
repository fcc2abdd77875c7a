"""Synthetic instances calibrated to the council papers (``shared/seeds``).

``generate(scale, seed=...)`` is the entry point; :mod:`.calibration` holds every figure with its
source, :mod:`.market` draws zones, needs, providers and offers as numpy columns,
:mod:`.contracts` adds lots, block contracts, bids and scenarios, and :mod:`.build` turns it all
into a validated :class:`~allocator.instance.schema.Instance`.
"""

from allocator.generate.build import generate, planned_assignment
from allocator.generate.calibration import SCALES, Scale

__all__ = ["SCALES", "Scale", "generate", "planned_assignment"]
