"""The check types of each regulation: LGPD and CFM/COFFITO computed from the clinic's data,
ANVISA and WCAG recorded assessments."""
