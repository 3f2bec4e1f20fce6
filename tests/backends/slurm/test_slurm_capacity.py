"""The scheduling loop's view never offers chips Slurm will not give: a drained node's chips
leave the H100 pool the scheduler sees (services.scheduling.engine_capped on the CI cluster)."""

from __future__ import annotations

import subprocess
import time
from types import SimpleNamespace
from typing import Any

from aicenter.backends.slurm.backend import SlurmBackend
from aicenter.backends.slurm.config import SlurmConfig
from aicenter.scheduler.center import CenterPool
from aicenter.services.scheduling import engine_capped


def test_a_drained_node_leaves_the_pools_the_scheduler_sees(slurm_config: SlurmConfig) -> None:
    ctx: Any = SimpleNamespace(backend=SlurmBackend(slurm_config))
    pools = [CenterPool("pool-h100", "nvidia-h100-sxm", 8, "KR", 8),
             CenterPool("pool-atom", "rebellions-atom", 8, "KR", 8)]
    assert [p.chip_count for p in engine_capped(ctx, pools, [])] == [8, 8]
    subprocess.run(["scontrol", "update", "nodename=node2", "state=drain",
                    "reason=aicenter capacity test"], check=True)
    try:
        assert [p.chip_count for p in engine_capped(ctx, pools, [])] == [4, 4]
    finally:
        subprocess.run(["scontrol", "update", "nodename=node2", "state=resume"], check=True)
    deadline = time.monotonic() + 30
    while [p.chip_count for p in engine_capped(ctx, pools, [])] != [8, 8]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
