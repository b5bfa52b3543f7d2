"""Names typed for the classes of data that has none: kept beside the data, never in it, and used
wherever the dataset is loaded; a frozen base of random weights is refused with its reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import (
    DataOptions,
    DatasetError,
    ExperimentConfig,
    frozen_random_base,
    load_class_names,
    load_dataset,
    nameable,
    save_class_names,
)


def _npz(path: Path) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 255, (60, 8, 8), dtype=np.uint8), y=np.arange(60) % 3)
    return path


def test_typed_names_live_in_a_sidecar_and_reach_the_loaded_dataset(tmp_path: Path) -> None:
    data = DataOptions(name=f"npz:{_npz(tmp_path / 'pets.npz')}")
    before = (tmp_path / "pets.npz").read_bytes()
    assert nameable(data) and load_dataset(data).class_names == ["0", "1", "2"]
    sidecar = save_class_names(data, ["cat", " dog ", "bird"], 3)
    assert sidecar.name == "pets.npz.layerlab-classes.json" and sidecar.parent == tmp_path
    assert (tmp_path / "pets.npz").read_bytes() == before  # the user's file is never touched
    assert load_class_names(data) == ["cat", "dog", "bird"]
    assert load_dataset(data).class_names == ["cat", "dog", "bird"]


def test_names_that_cannot_be_are_refused_in_one_line(tmp_path: Path) -> None:
    data = DataOptions(name=f"npz:{_npz(tmp_path / 'd.npz')}")
    for names, reason in (
        (["a", "b"], "give 3 names"),
        (["a", "", "c"], "class 1 has no name"),
        (["a", "a", "c"], "cannot share a name: a"),
    ):
        with pytest.raises(DatasetError, match=reason):
            save_class_names(data, names, 3)
    assert not nameable(DataOptions(name="digits"))
    with pytest.raises(DatasetError):
        save_class_names(DataOptions(name="digits"), [str(i) for i in range(10)], 10)


def test_a_frozen_base_of_random_weights_is_named_as_the_reason() -> None:
    frozen = ExperimentConfig().updated(**{"arch.name": "mobilenet_v2", "arch.weights": "none"})
    assert "random weights" in frozen_random_base(frozen)
    assert frozen_random_base(frozen.updated(**{"arch.freeze_base": False})) == ""
    assert frozen_random_base(frozen.updated(**{"arch.weights": "imagenet"})) == ""
    assert frozen_random_base(ExperimentConfig().updated(**{"arch.weights": "none"})) == ""  # mlp: no base
