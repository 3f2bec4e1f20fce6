"""Scoring of fleets and providers' proposals (rubrics) and the procurement optimiser."""
