"""Compliance: the per-framework status computed from live data, checks, issues.

A catalogue names every check type per framework. LGPD and CFM/COFFITO checks are computed
from the clinic's data (aggregates from the `compliance_metrics()` SECURITY DEFINER function,
so every staff role sees the same numbers whatever rows its own RLS shows); ANVISA and WCAG
checks are recorded assessments: the caller submits the result of each criterion of the
catalogue and the check scores exactly that. `runComplianceCheck` stores the result and keeps
one open issue per failing requirement (refreshed when still failing, resolved automatically
when a later check finds it fixed).

Scoring: every catalogue check type of a framework scores 0-100 (computed: from live data;
recorded: its latest check; never assessed: 0). A framework's score is their mean, the
overall score the mean of the four frameworks. A framework is PENDING while nothing of it was
assessed, NON_COMPLIANT when a check fails or a high/critical issue is open, PENDING when a
recorded check is missing or past its next-check date, else COMPLIANT. Findings are plain
Portuguese for the clinic's data-protection officer.
"""
