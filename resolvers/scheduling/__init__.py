"""Appointments: the agenda, its lists and filters, and schedule / reschedule / cancel / complete,
and `appointmentChanged`.

Double booking is refused by the database (exclusion constraints over each physiotherapist's
and each patient's time ranges), so concurrent requests cannot both win a slot.
"""
