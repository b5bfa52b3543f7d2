"""Suite-wide hooks.

The results are final once pytest has printed its summary; what can still go wrong after that is
the interpreter's own teardown of C extensions. One of them (TensorFlow, Qt, the LiteRT and ONNX
runtimes are all loaded by the end of the suite) releases `True` once too often, and CPython then
aborts while finalizing ("bool_dealloc: deallocating True or False"), turning a green run red
with exit code 250 — after every test passed. So the process ends with pytest's own exit status
as soon as pytest is done (stdout and stderr flushed first), skipping that teardown. Nothing the
tests made is lost: temporary folders are cleaned by pytest before this hook runs.
"""
from __future__ import annotations

import os
import sys

import pytest

_exit_status: int | None = None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status is None or os.environ.get("LAYERLAB_TEST_FULL_TEARDOWN"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
