"""Runs side by side: their final figures, and only the settings that differ between them.

Every lesson is a comparison ("dropout 0.5 against none"), so what tells two runs apart is the
first thing to show: `config_differences` keeps only the settings whose values differ (the keys
of `engine.experiments.settings`, the same a grid varies), and `label_run` names each run by
them ("dropout 0.5 · bn off"), for legends and table rows. Cheap: reads run files only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError, RunError
from engine.experiments.settings import describe, effective_settings, is_neutral_augmentation
from engine.runs.folders import Run, load_run

LABEL_SEPARATOR = " · "


@dataclass(frozen=True)
class RunRow:
    """One run of a comparison. Figures are None where the run has none (no test split, a run
    that never finished or failed, or one written before the figure was recorded)."""

    run_dir: str
    label: str
    val_accuracy: float | None
    val_loss: float | None
    test_accuracy: float | None
    test_loss: float | None
    epochs_run: int
    seconds: float | None
    trainable_params: int | None
    train_seconds: float | None = None  # the epochs' own time (set-up and evaluation left out)


@dataclass(frozen=True)
class Comparison:
    runs: list[RunRow]
    differences: dict[str, list[Any]]  # dotted setting -> its value in each run, in the runs' order


def config_differences(configs: list[ExperimentConfig]) -> dict[str, list[Any]]:
    """The settings whose values are not the same in every config (JSON values, None where a
    config lacks the key), in the config's field order."""
    flats = [effective_settings(config) for config in configs]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    differences = {}
    for key in keys:
        values = [flat.get(key) for flat in flats]
        if len({json.dumps(value, sort_keys=True) for value in values}) > 1:
            differences[key] = values
    return differences


def label_run(differences: dict[str, list[Any]], index: int) -> str:
    """Run `index` named by its differing settings: "dropout 0.5 · bn off". Augmentation fields
    read as one part ("aug off", "aug rotation 0.05, zoom 0.1"). "" when nothing differs."""
    parts: list[str] = []
    augmentation: list[str] = []
    for key, values in differences.items():
        value = values[index]
        if key.startswith("augmentation."):
            if not is_neutral_augmentation(value):
                augmentation.append(describe(key, value))
            continue
        parts.append(describe(key, value))
    if any(key.startswith("augmentation.") for key in differences):
        parts.append("aug " + (", ".join(augmentation) if augmentation else "off"))
    return LABEL_SEPARATOR.join(parts)


def compare_runs(paths: list[str | Path]) -> Comparison:
    """Load the runs (`RunError` naming the run that cannot be read) and line them up."""
    runs = [_load(path) for path in paths]
    differences = config_differences([run.config for run in runs])
    labels = _unique([label_run(differences, i) or run.path.name for i, run in enumerate(runs)])
    return Comparison([_row(run, label) for run, label in zip(runs, labels)], differences)


def _load(path: str | Path) -> Run:
    try:
        return load_run(path)
    except ConfigError as err:  # config.json's content: still a broken run, named by the message
        raise RunError(str(err)) from None


def _row(run: Run, label: str) -> RunRow:
    m = run.metrics
    if m is None or m.failed is not None:
        return RunRow(
            str(run.path),
            label,
            None,
            None,
            None,
            None,
            m.epochs_run if m is not None else len(run.history),
            None,
            None,
        )
    return RunRow(
        str(run.path),
        label,
        m.val_accuracy,
        m.val_loss,
        m.test_accuracy,
        m.test_loss,
        m.epochs_run,
        m.seconds,
        m.trainable_params,
        m.train_seconds,
    )


def _unique(labels: list[str]) -> list[str]:
    """Labels that tell every run apart: repeats get " (2)", " (3)"..."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
