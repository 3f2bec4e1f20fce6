"""The ``slurm`` backend: runs as Slurm batch jobs (``sbatch``), state from ``scontrol``/
``sacct``, capacity from the nodes' GRES.

Modules: :mod:`.config` (its configuration and registry entry), :mod:`.script` (GRES names,
gang shape, the ``sbatch`` options and batch script), :mod:`.states` (every Slurm state mapped,
records parsed), :mod:`.capacity` (nodes, GRES, drained or down), :mod:`.backend` (the
:class:`~aicenter.backends.base.Backend` itself). Only the backend module runs Slurm commands.
"""
