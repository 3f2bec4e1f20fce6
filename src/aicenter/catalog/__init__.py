"""The accelerator catalog: versioned CSV data with a schema, and the H100-equivalent unit."""

from aicenter.catalog.loader import Catalog, load_catalog
from aicenter.catalog.performance import PerformanceTable, relative_throughput

__all__ = ["Catalog", "PerformanceTable", "load_catalog", "relative_throughput"]
