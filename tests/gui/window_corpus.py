"""The corpus of bad inputs (tests/corpus.py) through a real window, as a user would meet it.

    python -m tests.gui.window_corpus FOLDER        (run by tests/gui/test_window_corpus.py)

Run in its own process under an address-space limit, so a regression that allocates what a
file's header asks for fails instead of exhausting the machine. It opens the window offscreen,
drops every image and special file on it, opens every npz, class folder and degenerate dataset,
opens every run folder, and prints one JSON line per case: what the window said about it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.corpus import OK, Case, class_folders, degenerate_data, image_files, npz_files, run_folders, special_files

WAIT_S = 60


def _until(app: Any, done: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    t0 = time.monotonic()
    while not done():
        if time.monotonic() - t0 > timeout_s:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def _report(family: str, case: Case, said: str, used: bool) -> dict[str, Any]:
    return {"family": family, "id": case.id, "expect": case.expect, "said": said, "used": used}


def drop_images(app: Any, window: Any, cases: list[Case]) -> list[dict[str, Any]]:
    """Drop them all at once; a folder expands to its images (none here: the banner says so)."""
    tickets: list[int] = []
    window.classified.connect(tickets.append)
    sources = [os.fsdecode(case.path) for case in cases]
    window.classify.classify_sources(sources)
    expected = sum(not os.path.isdir(source) for source in sources)
    _until(app, lambda: len(tickets) == expected, 120)
    cards = {card.source: card for card in window.classify_panel.cards.values()}
    out = []
    for case, source in zip(cases, sources):
        card = cards.get(source)
        said = (card.error or "") if card is not None else window.message_bar.text
        out.append(_report("images", case, said, card is not None and card.prediction is not None))
    return out


def open_datasets(app: Any, window: Any, family: str, cases: list[Case], kind: str) -> list[dict[str, Any]]:
    out = []
    for case in cases:
        window.session.update("message", text="", level="info", details="", topic="")
        name = f"{kind}:{os.fsdecode(case.path)}"
        window.session.config.update(**{"data.name": name})
        _until(
            app,
            lambda: (
                window.session.data.name == name
                and window.session.data.status in ("ready", "failed")
                and not window.data.busy
            ),
        )
        data = window.session.data
        said = window.message_bar.text if data.status == "failed" else ""
        out.append(_report(family, case, said, data.status == "ready"))
    return out


def open_runs(app: Any, window: Any, cases: list[Case]) -> list[dict[str, Any]]:
    out = []
    for case in cases:
        window.session.update("message", text="", level="info", details="", topic="")
        window.current.none("")
        window.runs.open_run(os.fsdecode(case.path))
        _until(app, lambda: not window.runs.opening)  # opened, or refused (then nothing changed)
        used = window.session.classifier.classifier is not None
        out.append(_report("runs", case, "" if used else window.message_bar.text, used))
    return out


def main(folder: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["LAYERLAB_HOME"] = str(folder / "home")
    from gui.app import create_application
    from gui.main_window import MainWindow

    app = create_application([])
    window = MainWindow(runs_root=folder / "home" / "runs")
    window.show()
    if not _until(app, lambda: window.session.engine.status != "loading", 180) or not window.session.engine.ready:
        print(json.dumps({"fatal": f"engine: {window.session.engine.error}"}))
        return 1
    runs = run_folders(folder / "runs")
    good = next(case for case in runs if case.expect == OK)
    window.runs.open_run(str(good.path))
    _until(app, lambda: window.session.classifier.classifier is not None)
    results = drop_images(app, window, image_files(folder / "images") + special_files(folder / "special"))
    results += open_datasets(app, window, "npz", npz_files(folder / "npz"), "npz")
    results += open_datasets(app, window, "degenerate", degenerate_data(folder / "degenerate"), "npz")
    results += open_datasets(app, window, "folders", class_folders(folder / "folders"), "folder")
    results += open_runs(app, window, runs)
    t0 = time.monotonic()
    window.close()
    results.append({"family": "quit", "id": "close", "expect": OK, "said": "", "used": time.monotonic() - t0 < 10})
    for entry in results:
        print(json.dumps(entry, ensure_ascii=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
