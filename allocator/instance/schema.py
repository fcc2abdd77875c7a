"""The instance schema (DESIGN.md section 3, version 1) as pydantic models.

These models validate one row at a time: types, ranges, finiteness and unknown fields.
Cross-references between tables (an offer naming a missing provider, overlapping lots, a
priority with no penalty, ...) are checked by
:func:`allocator.instance.validate.check_references`, which sees the whole instance.
:func:`allocator.instance.io.load_instance` runs both and reports every problem at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from allocator.instance.errors import InstanceError

SCHEMA_VERSION = 1


def _not_a_boolean(value: Any) -> Any:
    """Refuse ``true``/``false`` where a number is wanted.

    pydantic's lax mode reads a boolean as 1 or 0, which would turn ``"quantity": true`` into
    one hour; text is still converted (CSV and XLSX cells are read as text).
    """
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


NOT_BOOL = BeforeValidator(_not_a_boolean)
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False), NOT_BOOL]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), NOT_BOOL]


class Service(StrEnum):
    personal_care = "personal_care"
    individual_support = "individual_support"
    group_support = "group_support"
    supported_living = "supported_living"


class Complexity(StrEnum):
    less_complex = "less_complex"
    complex = "complex"
    highly_complex = "highly_complex"

    @property
    def rank(self) -> int:
        return COMPLEXITY_RANK[self.value]


COMPLEXITY_RANK = {"less_complex": 0, "complex": 1, "highly_complex": 2}


class CareGroup(StrEnum):
    OP = "OP"
    OPMH = "OPMH"
    PD = "PD"
    LD = "LD"
    MH = "MH"
    Autism = "Autism"


Unit = Literal["hours", "beds"]
Kind = Literal["package", "placement"]
UNIT_OF_KIND: dict[str, str] = {"package": "hours", "placement": "beds"}


class Row(BaseModel):
    """Base of every table row: unknown fields are an error, never dropped."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True, frozen=True)


class Zone(Row):
    id: Id
    name: str = ""


class Provider(Row):
    id: Id
    name: str = ""
    quality: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False), NOT_BOOL]
    capacity: NonNegative | None = None  # hours/week across all its hours offers
    cqc_rating: str | None = None


class Offer(Row):
    id: Id | None = None
    provider: Id
    zone: Id
    service: Service
    unit: Unit
    price: NonNegative
    capacity: NonNegative
    max_complexity: Complexity
    travel_factor: Annotated[float, Field(ge=1, allow_inf_nan=False), NOT_BOOL] = 1.0
    care_groups: tuple[CareGroup, ...] = ()
    scheme: Id | None = None
    # DESIGN.md 9.1: the offer exists only while its provider holds a block in this lot
    # (capacity * y[p, lot]; a contract in force counts as y = 1).
    if_awarded: Id | None = None

    @model_validator(mode="after")
    def _scheme_only_for_beds(self) -> Offer:
        if self.scheme is not None and self.unit != "beds":
            raise ValueError("scheme is only allowed on offers in unit 'beds'")
        if self.unit == "beds" and self.travel_factor != 1:
            # DESIGN.md section 3: "travel_factor (>=1, default 1; hours only)"; a scheme's
            # capacity is its vacancies (an independent check found a factor of 1.5 applied
            # to a 1-bed scheme, leaving its placement unmet)
            raise ValueError(f"travel_factor applies to hours only (DESIGN.md section 3); a "
                             f"beds offer has travel_factor 1, got {self.travel_factor:g}")
        return self

    @property
    def key(self) -> str:
        """The offer id of DESIGN.md clarification 2."""
        if self.id is not None:
            return self.id
        if self.scheme is not None:
            return self.scheme
        return f"{self.provider}/{self.zone}/{self.service}"


class Need(Row):
    id: Id
    kind: Kind
    zone: Id
    service: Service
    complexity: Complexity
    care_group: CareGroup
    quantity: Annotated[float, Field(gt=0, allow_inf_nan=False), NOT_BOOL]
    priority: Id = "standard"
    acceptable_zones: tuple[Id, ...] | None = None
    current_provider: Id | None = None

    @model_validator(mode="before")
    @classmethod
    def _placement_quantity_defaults_to_one(cls, data: Any) -> Any:
        # DESIGN.md section 3: "quantity (hours/week > 0; placements: 1)"
        if isinstance(data, dict) and data.get("kind") == "placement" and \
                data.get("quantity") in (None, ""):
            data = {**data, "quantity": 1.0}
        return data

    @model_validator(mode="after")
    def _placement_is_one_bed(self) -> Need:
        if self.kind == "placement" and self.quantity != 1:
            raise ValueError(f"a placement has quantity 1 (one bed), got {self.quantity:g}")
        return self

    @property
    def zones(self) -> list[str]:
        """The zones this need may be served in (its own zone when none are listed)."""
        return list(self.acceptable_zones) if self.acceptable_zones else [self.zone]


class BlockRules(Row):
    min_providers: Annotated[int, Field(ge=0), NOT_BOOL] = 0
    max_providers: Annotated[int, Field(ge=0), NOT_BOOL] | None = None
    min_share: Share = 0.0
    max_share: Share = 1.0
    min_quality: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False), NOT_BOOL] = 0.0

    @model_validator(mode="after")
    def _ordered(self) -> BlockRules:
        if self.max_providers is not None and self.max_providers < self.min_providers:
            raise ValueError(
                f"max_providers ({self.max_providers}) is below min_providers "
                f"({self.min_providers})"
            )
        if self.max_share < self.min_share:
            raise ValueError(
                f"max_share ({self.max_share:g}) is below min_share ({self.min_share:g})"
            )
        return self


class Lot(Row):
    id: Id
    name: str = ""
    unit: Unit
    zones: Annotated[tuple[Id, ...], Field(min_length=1)]
    services: Annotated[tuple[Service, ...], Field(min_length=1)]
    complexities: Annotated[tuple[Complexity, ...], Field(min_length=1)]
    framework: bool = True
    block: BlockRules | None = None
    # DESIGN.md 9.2: providers below this quality get no work in the lot's cells (on top of
    # policy.min_framework_quality).
    min_quality: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False), NOT_BOOL] = 0.0
    # Extension (not in DESIGN.md section 3; default keeps its semantics): in a reservation
    # lot the block volume reserves capacity but every use is still paid at the offer price,
    # i.e. the framework term charges price * q * x instead of price * q * (x - b). It is what
    # capacitated facility location needs (models/benchmarks.md).
    reservation: bool = False


class BlockContract(Row):
    provider: Id
    lot: Id
    rate: NonNegative
    volume: NonNegative


class BlockBid(Row):
    provider: Id
    lot: Id
    rate: NonNegative
    min_volume: NonNegative = 0.0
    max_volume: NonNegative
    award_cost: NonNegative = 0.0

    @model_validator(mode="after")
    def _ordered(self) -> BlockBid:
        if self.max_volume < self.min_volume:
            raise ValueError(
                f"max_volume ({self.max_volume:g}) is below min_volume ({self.min_volume:g})"
            )
        return self


class DesignTarget(Row):
    """A target across lots (DESIGN.md 9.3): block share and distinct providers together."""

    id: Id
    lots: Annotated[tuple[Id, ...], Field(min_length=1)]
    min_block_share: Share = 0.0
    max_block_share: Share = 1.0
    min_providers: Annotated[int, Field(ge=0), NOT_BOOL] = 0
    max_providers: Annotated[int, Field(ge=0), NOT_BOOL] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DesignTarget:
        if self.max_providers is not None and self.max_providers < self.min_providers:
            raise ValueError(
                f"max_providers ({self.max_providers}) is below min_providers "
                f"({self.min_providers})"
            )
        if self.max_block_share < self.min_block_share:
            raise ValueError(
                f"max_block_share ({self.max_block_share:g}) is below min_block_share "
                f"({self.min_block_share:g})"
            )
        return self


class Policy(Row):
    unmet_penalty: dict[Id, NonNegative] = Field(default_factory=dict)
    transfer_penalty: NonNegative = 0.0
    quality_weight: NonNegative = 0.0
    out_of_zone_penalty: NonNegative = 0.0
    min_framework_quality: Annotated[
        float, Field(ge=0, le=100, allow_inf_nan=False), NOT_BOOL] = 0.0
    max_provider_share: Annotated[
        float, Field(gt=0, le=1, allow_inf_nan=False), NOT_BOOL] | None = None
    objective: Literal["weighted", "lexicographic"] = "weighted"


class Scenario(Row):
    id: Id
    weight: NonNegative
    # > 0: a multiplier of 0 would make every package's quantity 0, which no need may have
    demand_multiplier: Annotated[float, Field(gt=0, allow_inf_nan=False), NOT_BOOL] | None = None
    needs: tuple[Need, ...] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Scenario:
        if self.demand_multiplier is not None and self.needs is not None:
            raise ValueError("give either demand_multiplier or needs, not both")
        return self


class BenchmarkInfo(Row):
    """Where an imported benchmark instance came from, and how to report its objective.

    Extension (not in DESIGN.md section 3): the objective in the original problem's own sense
    and units is ``offset + scale * objective``.
    """

    problem: str
    source: str
    index: Annotated[int, Field(ge=1), NOT_BOOL] = 1
    sense: Literal["min", "max"] = "min"
    offset: Annotated[float, Field(allow_inf_nan=False), NOT_BOOL] = 0.0
    scale: Annotated[float, Field(allow_inf_nan=False), NOT_BOOL] = 1.0
    variant: str = ""

    def original_objective(self, objective: float) -> float:
        return self.offset + self.scale * objective


class Instance(BaseModel):
    """One market: the whole instance document, validated and immutable.

    Constructing one (``Instance(...)``, ``Instance.model_validate(...)``) checks each row and
    then every rule that spans rows and tables (:func:`allocator.instance.validate.
    check_references`), with the same messages as loading a file: there is no unchecked
    instance but one made with ``model_construct`` or ``model_copy``. The tables are tuples.
    """

    model_config = ConfigDict(extra="forbid", use_enum_values=True, frozen=True)

    schema_version: Literal[1] = 1
    name: str = "instance"
    currency: str = "GBP"
    zones: tuple[Zone, ...]
    providers: tuple[Provider, ...]
    offers: tuple[Offer, ...]
    needs: tuple[Need, ...]
    lots: tuple[Lot, ...] = ()
    block_contracts: tuple[BlockContract, ...] = ()
    block_bids: tuple[BlockBid, ...] = ()
    design_targets: tuple[DesignTarget, ...] = ()
    policy: Policy = Field(default_factory=Policy)
    scenarios: tuple[Scenario, ...] = ()
    benchmark: BenchmarkInfo | None = None

    def model_copy(self, *, update: Mapping[str, Any] | None = None,
                   deep: bool = False) -> Instance:
        """An unchecked copy (as pydantic's), whose replaced tables are kept as tuples."""
        if update:
            update = {k: tuple(v) if isinstance(v, list) else v for k, v in update.items()}
        return super().model_copy(update=update, deep=deep)

    def model_post_init(self, context: Any, /) -> None:
        # The cross-table rules read the row models of this module, so they live beside the
        # file readers (allocator.instance.validate) and are imported at call time.
        from allocator.instance.validate import check_references

        problems = check_references(self, "instance")
        if problems:
            raise ValueError(InstanceError(problems).args[0])


# The tables of an instance, in file order, with their row model.
TABLES: dict[str, type[Row]] = {
    "zones": Zone,
    "providers": Provider,
    "offers": Offer,
    "needs": Need,
    "lots": Lot,
    "block_contracts": BlockContract,
    "block_bids": BlockBid,
    "design_targets": DesignTarget,
}
