"""Speed of the training planner.

Target (issue 3): a single plan takes under 50 ms. Measured in-process after the packaged
catalog, presets and calibration are loaded (a CLI call pays those once, ~tens of ms), as the
median and the 95th percentile of many plans; also prints the one-off load time and a full
``compare`` over every trainable chip with a deadline. Exits non-zero if the target is missed.
"""

from __future__ import annotations

import statistics
import sys
import time

TARGET_MS = 50.0


def main() -> int:
    start = time.perf_counter()
    from aicenter.catalog import load_catalog
    from aicenter.planner.calibration import default_calibration
    from aicenter.planner.compare import compare_chips
    from aicenter.planner.model import presets
    from aicenter.planner.plan import plan_record, plan_run, stages_for

    catalog = load_catalog()
    calibration = default_calibration()
    specs = presets()
    load_ms = (time.perf_counter() - start) * 1000

    cases = [
        ("deepseek-v3", 14.8e12, "nvidia-h800", 2048),
        ("llama-3.1-405b", 15.6e12, "nvidia-h100-sxm", 16384),
        ("generic-7b", 1e12, "amd-mi300x", 64),
    ]
    timings: list[float] = []
    for _ in range(200):
        for name, tokens, chip, count in cases:
            t0 = time.perf_counter()
            spec = specs[name]
            stages, skipped = stages_for(spec, tokens)
            plan = plan_run(spec, catalog.get(chip), count, stages, calibration, catalog,
                            skipped=skipped)
            plan_record(plan)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    median = statistics.median(timings)
    p95 = timings[int(0.95 * len(timings)) - 1]

    spec = specs["llama-3.1-70b"]
    stages, _ = stages_for(spec, 15e12)
    t0 = time.perf_counter()
    compare_chips(spec, stages, 1024, calibration, catalog, deadline_days=60)
    compare_ms = (time.perf_counter() - t0) * 1000

    print(f"load catalog+presets+calibration: {load_ms:.1f} ms (once)")
    print(f"single plan: median {median:.3f} ms, p95 {p95:.3f} ms over {len(timings)} plans "
          f"(target < {TARGET_MS:.0f} ms)")
    print(f"compare with deadline over all trainable chips: {compare_ms:.1f} ms")
    if p95 >= TARGET_MS:
        print("FAIL: single plan slower than the target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
