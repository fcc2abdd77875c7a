"""Parameters of one solve: a small validated object with defaults (loadable from JSON/TOML)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SolveParams(BaseModel):
    """Parameters of one solve (validated; loadable from JSON/TOML by the CLI)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    solver: str = "highs"
    objective: Literal["weighted", "lexicographic"] | None = None  # None: the instance's policy
    time_limit: float = Field(60.0, gt=0)
    gap: float = Field(1e-7, ge=0)  # relative MIP gap at which a solve counts as optimal
    threads: int | None = Field(None, ge=1)
    verbose: bool = False
    seed: int = 0
    # a dask.distributed scheduler (tcp://HOST:PORT): the regions of scales L and XL run there
    dask: str | None = None
