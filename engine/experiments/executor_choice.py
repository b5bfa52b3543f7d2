"""Choosing where a grid runs from words: "local", "ray" or "ray://HOST:PORT", and how many runs at once.

The command line's `--executor` and `--workers` and the window's Grid tab both come here, so both
refuse the same things with the same one-line reasons, before anything starts.
"""

from __future__ import annotations

import importlib.util
import re

from engine.core.errors import ConfigError
from engine.experiments.executors import RAY_EXTRA_HINT, Executor, InProcess
from engine.experiments.ray_executor import RayExecutor  # cheap: it imports Ray only when a grid runs

_CLUSTER = re.compile(r"^ray://(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\]):(?P<port>[0-9]{1,5})$")
MAX_WORKERS = 1024


def grid_executor(where: str = "local", workers: int | None = None) -> Executor:
    """The executor `where` names: "local" (this process), "ray" (a local Ray instance on this
    machine) or "ray://HOST:PORT" (a Ray cluster's client address); `workers`: runs at once on
    Ray (None: as many as the cores, or GPUs, allow). `ConfigError` (one line) for anything else,
    or for Ray when its extra is not installed."""
    where = (where or "local").strip()
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}")
    if where == "local":
        if workers not in (None, 1):
            raise ConfigError("--workers needs --executor ray or ray://HOST:PORT (local runs one run at a time)")
        return InProcess()
    if where != "ray" and not where.startswith("ray://"):
        raise ConfigError(f"--executor: write local, ray or ray://HOST:PORT, not {where!r}")
    address = None if where == "ray" else check_cluster_address(where)
    require_ray()

    return RayExecutor(address, workers)


def check_cluster_address(address: str) -> str:
    """`address` if it is a Ray client address `ray://HOST:PORT`, else a one-line `ConfigError`."""
    match = _CLUSTER.match(address.strip())
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ConfigError(
            f"a Ray cluster address looks like ray://HOST:PORT (e.g. ray://10.0.0.5:10001), not {address!r}"
        )
    return address.strip()


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def require_ray() -> None:
    if not ray_installed():
        raise ConfigError(f"running a grid on Ray needs Ray, which is not installed: {RAY_EXTRA_HINT}")
