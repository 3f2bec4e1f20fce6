"""The licensed-data exchange: PII detection and handling, near-duplicates, statistics.

The detectors (``pii/``), pseudonymisation, deduplication and statistics are pure: they work on
strings and numbers handed to them. ``readers`` is the one place that opens files.
"""
