"""How the window words things: short dataset names, durations, memory (Qt-free)."""

from __future__ import annotations

from pathlib import Path


def short_name(name: str) -> str:
    """ "folder:/long/path/pets" → "folder: pets"; built-in names as they are."""
    if ":" in name:
        kind, path = name.split(":", 1)
        return f"{kind}: {Path(path).name or path}"
    return name


def format_seconds(seconds: float) -> str:
    """ "1:05" or "2:03:04"."""
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_memory(megabytes: float) -> str:
    return f"{megabytes / 1024:.1f} GiB" if megabytes >= 1024 else f"{megabytes:.0f} MiB"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """ "1 run", "3 runs"."""
    return f"{count:,} {noun if count == 1 else plural_form or noun + 's'}"


def setting_name(key: str) -> str:
    """ "training.learning_rate" → "learning rate": the part after the last dot, readable."""
    return key.rsplit(".", 1)[-1].replace("_", " ")
