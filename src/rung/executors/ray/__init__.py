"""The Ray executor: trials on the actors of a Ray cluster.

``executor.py`` is the driver side (``RayExecutor``; ``arguments.py`` checks its arguments,
``connect.py`` connects it to Ray, ``actors.py`` keeps its actors, ``room.py`` watches for room
on the cluster), ``actor.py`` the actor side (``RungWorker``), ``transport.py`` the two ways
their messages travel (a socket per actor, or Ray calls; ``net.py`` their socket options),
``resources.py`` the per-trial resource arithmetic, ``archive.py`` the checkpoint archives and
``importing.py`` the lazy import of Ray. Importing this package never imports Ray.
"""

from __future__ import annotations

from rung.executors.ray.archive import pack_dir, unpack_dir
from rung.executors.ray.executor import TRANSPORTS, RayExecutor
from rung.executors.ray.importing import INSTALL_HINT
from rung.executors.ray.resources import (
    actor_resource_options,
    cluster_capacity,
    from_devices,
    normalize_resources,
    trials_per_node,
)

__all__ = [
    "INSTALL_HINT",
    "TRANSPORTS",
    "RayExecutor",
    "actor_resource_options",
    "cluster_capacity",
    "from_devices",
    "normalize_resources",
    "pack_dir",
    "trials_per_node",
    "unpack_dir",
]
