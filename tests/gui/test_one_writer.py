"""One owner per state: each part of the session is written by one module only, read from the code
(`session.update("<part>", ...)` calls), so no two workflows can fight over a value."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def writers() -> dict[str, set[str]]:
    """Session part → the gui modules that call `<something>.update("<part>", ...)`."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in (ROOT / "gui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "update"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found[node.args[0].value].add(path.relative_to(ROOT).as_posix())
    return found


def test_every_session_part_has_one_writer() -> None:
    from gui.session import Session

    found = writers()
    assert set(found) <= set(Session.PARTS), set(found) - set(Session.PARTS)
    shared = {part: sorted(modules) for part, modules in found.items() if len(modules) > 1}
    assert not shared, f"parts written from more than one module: {shared}"
    assert found["training"] == {"gui/controllers/training.py"}
    assert found["curves"] == {"gui/controllers/curves.py"}
    assert found["classifier"] == found["results"] == {"gui/controllers/current.py"}
    assert found["classify"] == {"gui/controllers/classify.py"}
