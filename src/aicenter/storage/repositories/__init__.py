"""Repositories: the only code that writes SQL; each returns domain objects."""
