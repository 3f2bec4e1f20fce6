"""The ray backend: jobs as Ray Jobs on a Ray cluster (for example a KubeRay head).

:mod:`~aicenter.backends.ray.config` holds its config, capabilities and registry entry;
:mod:`~aicenter.backends.ray.backend` the :class:`~aicenter.backends.ray.backend.RayBackend`
and a local head for tests. Importing this package does not import Ray.
"""
