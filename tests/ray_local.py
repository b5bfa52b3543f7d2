"""A real, small Ray instance for the tests of grids on Ray: on 127.0.0.1 only, 2 CPUs, no dashboard.

Started once per test module that asks for it (its fixture `local_ray`) and shut down after it, so
no Ray process outlives the module. The grid executor uses a Ray that is already running as it is
(engine.experiments.ray_executor.connected), so every grid of the module shares this one.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from typing import Any

import pytest


def local_ray() -> Iterator[Any]:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the ray extra is not installed (pip install -e '.[test]' brings it)")
    from engine.experiments.ray_executor import LOOPBACK, _single_machine, import_ray

    ray = import_ray()
    _single_machine(ray)  # every port on the loopback interface
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        _node_ip_address=LOOPBACK,
    )
    try:
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:"), ray.get_runtime_context().gcs_address
        yield ray
    finally:
        ray.shutdown()
