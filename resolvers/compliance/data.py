"""Compliance records at row level: the order of checks and issues, the issues of a check, and
the clinic's calendar its findings are dated by."""

from zoneinfo import ZoneInfo

from graph.sql.loaders import ChildList
from graph.sql.pagination import SortKey
from models.compliance import compliance_checks, compliance_issues

CLINIC_TIME_ZONE = ZoneInfo("America/Sao_Paulo")

CHECK_SORT = SortKey((compliance_checks.c.last_checked, compliance_checks.c.id))
ISSUE_SORT = SortKey((compliance_issues.c.created_at, compliance_issues.c.id))
ISSUES_OF_CHECK = ChildList(compliance_issues, "check_id", ISSUE_SORT)
