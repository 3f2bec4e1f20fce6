"""Every HiGHS solver of the center asks for the same thread count: HiGHS sizes its
process-wide task scheduler at the first solve and answers a later solve that asks for another
count with model status "Not Set". A procurement MILP solved first in a fresh process must
leave the scheduler's LPs working (the order a server or a test worker may meet them in)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np
    from aicenter.fleet.procurement import _solve_integer
    from aicenter.scheduler.lp import FractionLp, max_min

    x = _solve_integer(np.array([1.0, 2.0]), np.array([[1.0, 1.0]]), np.array([1.0]),
                       np.array([np.inf]), np.array([5.0, 5.0]))
    print("milp", [abs(v) for v in x.tolist()])
    lp = FractionLp(a=np.array([[1.0, 0.5]]), chips=np.array([[1.0, 1.0]]),
                    members=np.array([1.0]), capacity=np.array([1.0, 1.0]))
    print("lp", round(max_min(lp)[1], 6))
""")


def test_procurement_then_scheduler_lp_in_one_fresh_process() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "milp [1.0, 0.0]" in done.stdout and "lp " in done.stdout, done.stdout
