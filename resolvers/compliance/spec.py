"""What a check type is: its framework, requirement, interval and (for a recorded check) the
criteria the caller assesses."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from resolvers.compliance.enums import Framework, Severity


@dataclass(frozen=True)
class Criterion:
    """One item of a recorded assessment."""

    code: str
    text: str
    severity: Severity
    requirement: str


@dataclass(frozen=True)
class CheckSpec:
    framework: Framework
    check_type: str
    title: str
    requirement: str
    interval: timedelta
    criteria: tuple[Criterion, ...] = ()

    @property
    def computed(self) -> bool:
        return not self.criteria

    @property
    def requirements(self) -> tuple[str, ...]:
        if self.computed:
            return (self.requirement,)
        return tuple(c.requirement for c in self.criteria)


def recorded(
    framework: Framework,
    check_type: str,
    title: str,
    reference: str,
    interval_days: int,
    items: Sequence[tuple[str, str, Severity]],
    show_code: bool = False,
) -> CheckSpec:
    criteria = tuple(
        Criterion(
            code,
            text,
            severity,
            f"{reference} {code} — {text}" if show_code else f"{reference} — {text}",
        )
        for code, text, severity in items
    )
    return CheckSpec(
        framework, check_type, title, reference, timedelta(days=interval_days), criteria
    )
