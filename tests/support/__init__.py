"""Helpers shared by the test suites and the benchmarks: plain functions and context managers
(no pytest fixtures), so that ``benchmarks/`` imports them as it imports the replay driver,
without pytest's machinery. The fixtures built on them live in the conftest files."""
