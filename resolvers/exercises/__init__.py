"""Home exercises: the library, prescriptions, the executions patients log, and adherence.

The library is the shared one (`clinic_id` NULL, written only by migrations: 0004) plus each
clinic's own exercises. Search is accent- and case-insensitive substring matching on name,
category and description, served by the trigram index `exercises_search_idx` (0001), whose
expression `SEARCH_DOCUMENT` repeats exactly.

A physiotherapist prescribes for the patients they treat; the patient logs executions of their
own ACTIVE prescriptions only (RLS checks both: 0002). Adherence is the executions logged within
the prescription's period divided by those expected so far: frequencyPerWeek x elapsed weeks,
counting the days from startsOn to today (or endsOn, if earlier), both included, on the
clinic's calendar; clamped to 0..1, null before the period starts.
"""
