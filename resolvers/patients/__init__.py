"""Patients: the type, the `patients` list, and create / update / grant app access."""
