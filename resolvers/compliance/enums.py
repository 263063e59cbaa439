"""The compliance frameworks, states and severities."""

import enum

import strawberry


@strawberry.enum
class Framework(enum.Enum):
    LGPD = "lgpd"
    CFM = "cfm"
    ANVISA = "anvisa"
    WCAG = "wcag"


@strawberry.enum
class ComplianceState(enum.Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    PENDING = "pending"


@strawberry.enum
class Severity(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
SERIOUS = (Severity.HIGH, Severity.CRITICAL)
