"""Training cost, time and energy planner, calibrated on published runs.

Modules: ``model`` (model descriptions and presets), ``flops`` (FLOPs per token), ``memory``
(memory fit, minimum chips, refusals), ``throughput`` (MFU, scaling, overhead, calibration fit,
``relative_throughput`` for the scheduler), ``cost`` (energy and money), ``plan`` (one run),
``compare`` (chip types, deadlines, mixed pools), ``programme`` (honest cost), ``runs`` and
``validate`` (published runs and the check against them), ``calibration`` (the packaged fit).
"""

from aicenter.planner.model import ModelSpec, load_model_file, presets, resolve_model
from aicenter.planner.throughput import relative_throughput

__all__ = ["ModelSpec", "load_model_file", "presets", "relative_throughput", "resolve_model"]
