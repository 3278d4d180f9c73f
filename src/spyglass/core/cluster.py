"""The connection to a Ray cluster (the optional ``cluster`` extra), shared by the extraction and embedding tasks.

``[cluster] address`` (or ``spyglass index --cluster ADDRESS``) names the cluster as Ray does: ``host:6379`` (a node's
GCS address, for a driver inside the cluster's network), ``ray://host:10001`` (Ray Client) or ``auto`` (the cluster
``ray start`` began on this machine). Ray's own settings apply unchanged — notably its token authentication
(``RAY_AUTH_TOKEN`` or the default token file); Spyglass never stores a cluster credential.
"""

from __future__ import annotations

import socket
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError

NAMESPACE = "spyglass"


def ray_module() -> Any:
    """The ``ray`` package, or a :class:`MissingExtraError` naming the ``cluster`` extra."""
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError("indexing on a cluster", "cluster", exc.name or "ray") from exc
    return ray


def connect(address: str) -> Any:
    """Attach this process to the cluster at ``address`` (once; a process already attached keeps its cluster).
    Returns the ``ray`` module."""
    ray = ray_module()
    if ray.is_initialized():
        return ray
    if not address:
        raise SpyglassError("no cluster address: set [cluster] address or pass `spyglass index --cluster ADDRESS`")
    _reachable(address)
    try:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level="warning",
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SpyglassError(f"cannot reach the Ray cluster at {address!r}: {exc} (start it with `ray start --head`, "
                            f"or fix [cluster] address / `spyglass index --cluster ADDRESS`)") from exc
    return ray


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when a ``host:port`` (or ``ray://host:port``) address does not answer: Ray itself keeps retrying
    an unreachable address for minutes."""
    if address == "auto" or ":" not in address:
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise SpyglassError(f"cannot reach the Ray cluster at {address!r}: {exc} (is `ray start --head` running "
                            f"there? fix [cluster] address or `spyglass index --cluster ADDRESS`)") from None


def cpus(ray: Any) -> int:
    """CPUs the cluster has now (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def is_worker_failure(ray: Any, exc: BaseException) -> bool:
    """Whether ``exc`` says a task's worker or node died (Ray retried it ``max_retries`` times already), as opposed
    to an error raised by Spyglass's own code."""
    ex = ray.exceptions
    kinds = tuple(k for k in (getattr(ex, n, None) for n in (
        "WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError", "TaskUnschedulableError",
        "OutOfMemoryError", "LocalRayletDiedError", "RaySystemError")) if isinstance(k, type))
    return isinstance(exc, kinds)
