"""The typed contents of a run's JSON files: `history.json` and `metrics.json`, and how to read them.

These files are a public format (other tools read them), so their keys never change; the models
here give every reader the same validated view: numbers are finite or `None` (JSON `null`, never
`NaN`, which is not JSON), unknown keys written by newer versions are ignored, and anything that
does not fit becomes a `RunError` naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.core.errors import RunError, describe_validation_error, json_kind
from engine.core.files import printable_path, read_regular_file
from engine.core.records import EpochRecord, RunMetrics

MAX_JSON_BYTES = 64 * 2**20  # a history of 100 000 epochs or metrics listing 100 000 errors fit easily


def history_to_json(history: list[EpochRecord]) -> list[dict[str, Any]]:
    return [entry.model_dump(mode="json") for entry in history]


# --- reading ---------------------------------------------------------------------------------------
def read_json(path: Path) -> Any:
    """The parsed JSON of a run file; `RunError` naming the file for anything unreadable."""
    data = read_regular_file(path, max_bytes=MAX_JSON_BYTES, error=RunError, what="a run file")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise RunError(f"{printable_path(path)} is not text (not UTF-8)") from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        detail = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise RunError(f"{printable_path(path)} is not valid JSON ({detail})") from None


def parse_history(data: Any, path: Path) -> list[EpochRecord]:
    if not isinstance(data, list):
        raise RunError(f"{printable_path(path)} must hold a JSON list of epochs, not {json_kind(data)}")
    records = []
    for number, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise RunError(f"{printable_path(path)}: entry {number} is {json_kind(entry)}, not an epoch record")
        records.append(_validate(EpochRecord, entry, f"{printable_path(path)}: entry {number}"))
    return records


def parse_metrics(data: Any, path: Path) -> RunMetrics:
    if not isinstance(data, dict):
        raise RunError(f"{printable_path(path)} must hold a JSON object, not {json_kind(data)}")
    return _validate(RunMetrics, data, printable_path(path))


def _validate(model: type[BaseModel], data: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise RunError(f"{where}: {describe_validation_error(err)}") from None
