"""Pay rates: what an answer and an hour of active work are worth, per project and level.

They live in the project's settings (``pay:`` in project.yaml). Annotators in this field are
paid per task (typically 0.05-0.30 EUR an answer), per hour, or both.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labelkit.errors import ProjectError


class LevelRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_answer: float = Field(0.0, ge=0)
    per_hour: float = Field(0.0, ge=0)


class PayRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field("EUR", min_length=1, max_length=8)
    per_answer: float = Field(0.0, ge=0)
    per_hour: float = Field(0.0, ge=0)
    # From a level up: {2: {per_answer: 0.15}} pays 0.15 at levels 2, 3, ... (the highest
    # configured level at or below the annotator's applies).
    levels: dict[int, LevelRates] = Field(default_factory=dict)
    pay_rejected: bool = False
    # Time on one item beyond this counts as idle (the annotator stepped away).
    idle_after_seconds: float = Field(300.0, gt=0)
    # Payroll warns when someone's effective hourly rate falls below this.
    hourly_floor: float | None = Field(None, ge=0)

    @property
    def pays(self) -> bool:
        """Whether anyone is paid at all (any rate set, at any level)."""
        rates = [self, *self.levels.values()]
        return any(r.per_answer > 0 or r.per_hour > 0 for r in rates)

    def for_level(self, level: int) -> LevelRates:
        applicable = [lvl for lvl in self.levels if lvl <= level]
        if not applicable:
            return LevelRates(per_answer=self.per_answer, per_hour=self.per_hour)
        return self.levels[max(applicable)]


def pay_rates(project) -> PayRates:
    """The project's pay rates (all zero until configured)."""
    try:
        return PayRates.model_validate(project.settings.get("pay") or {})
    except ValidationError as exc:
        raise ProjectError(f"{project.path}: invalid pay settings: {_problems(exc)}") from None


def configure_pay(project, **changes) -> PayRates:
    """Change some pay settings, validated, and save them in the project's settings."""
    try:
        rates = PayRates.model_validate(pay_rates(project).model_dump() | changes)
    except ValidationError as exc:
        raise ProjectError(f"invalid pay settings: {_problems(exc)}") from None
    project.settings["pay"] = rates.model_dump(exclude_defaults=True)
    project.save_settings()
    return rates


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
