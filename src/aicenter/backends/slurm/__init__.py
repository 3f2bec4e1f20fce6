"""The ``slurm`` backend: runs as Slurm batch jobs (``sbatch``), state from ``scontrol``/
``sacct``, capacity from the nodes' GRES.

Modules: :mod:`.config` (its configuration and registry entry), :mod:`.script` (GRES names,
gang shape, the ``sbatch`` options and batch script), :mod:`.states` (every Slurm state mapped,
records parsed), :mod:`.capacity` (nodes, GRES, drained or down), :mod:`.backend` (the
:class:`~aicenter.backends.base.Backend` itself). Only the backend module runs Slurm commands.

Placement modes:

(a) **aicenter places, Slurm executes** (the default, tested end to end in
    ``tests/backends/slurm/test_slurm_server.py``): the center's pools stand for a partition
    reserved for aicenter (``AICENTER_SLURM_PARTITION``); aicenter's scheduler decides what
    runs when (fair share, grants, preemption with grace) and submits only what fits, so
    Slurm starts each job at once. The organisation is the job's ``--account`` and its
    priority class the ``--qos`` (``AICENTER_SLURM_QOS_BY_PRIORITY``), so Slurm's
    accounting and limits see the same tenants.
(b) **aicenter admits and accounts, Slurm schedules**: not built. How it would be: the pools
    are sized far above the partition so aicenter's scheduler admits every job its grant
    covers and submits it at once; Slurm queues them (``PENDING`` is not metered: usage
    counts from Slurm's own start) and orders them with ``priority/multifactor``, its fair
    share fed by aicenter's shares (``sacctmgr modify account <org> set fairshare=<share>``
    after every ``aicenter share`` change) and preemption by QOS (``PreemptType=
    preempt/qos``, ``--requeue``). What stops it here: aicenter's preemption, grant caps per
    chip and residency are decided by its scheduler, which would then see only admitted,
    not running, jobs; the share sync needs a hook from the share service to the backend.
"""
