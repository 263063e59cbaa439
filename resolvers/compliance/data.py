"""Compliance records at row level: the issues of a check."""

from graph.sql.declared import child_list

ISSUES_OF_CHECK = child_list("ComplianceCheck", "issues")
