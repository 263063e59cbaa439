"""Logins and who is calling: `login`, `me`, clinics."""
