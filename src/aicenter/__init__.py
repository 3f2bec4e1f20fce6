"""aicenter: the operating platform of a national (sovereign) AI computing center."""

__version__ = "0.1.0"
