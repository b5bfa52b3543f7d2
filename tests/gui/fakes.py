"""Fake views for controller tests, built from the views' Protocols.

A `FakeView(SomeView)` records the calls a controller makes and accepts only the methods the
Protocol declares, called with arguments its signature takes: a call the real panel would not
answer fails the test at once. (tests/gui/test_view_protocols.py checks that each real panel
implements the Protocols it is given as.)
"""

from __future__ import annotations

import inspect
from typing import Any


def protocol_methods(protocol: type) -> dict[str, Any]:
    """The methods a Protocol declares (its own and its bases'), by name."""
    methods: dict[str, Any] = {}
    for klass in reversed(protocol.__mro__):
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        methods.update({n: v for n, v in vars(klass).items() if callable(v) and not n.startswith("_")})
    return methods


class FakeView:
    """Records every call a controller makes to a view of `protocol`: `calls` of (name, args)."""

    def __init__(self, protocol: type) -> None:
        self._protocol = protocol
        self._methods = protocol_methods(protocol)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        declared = self._methods.get(name)
        if declared is None:
            raise AssertionError(f"the controller called {name}(), which {self._protocol.__name__} does not declare")
        signature = inspect.signature(declared)

        def record(*args: Any, **kwargs: Any) -> None:
            try:
                signature.bind(None, *args, **kwargs)
            except TypeError as err:
                raise AssertionError(f"{self._protocol.__name__}.{name} called with other arguments: {err}") from None
            self.calls.append((name, args))

        return record

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]
