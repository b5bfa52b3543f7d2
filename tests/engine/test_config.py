import pytest

from engine.config import SCHEMA_VERSION, ExperimentConfig
from engine.core.errors import ConfigError


def test_round_trip_through_json() -> None:
    config = ExperimentConfig().updated(
        **{"arch.name": "bn_cnn", "training.epochs": 3, "layer_trainable": {"dense_1": False}}
    )
    again = ExperimentConfig.from_json(config.to_json())
    assert again == config and again.schema_version == SCHEMA_VERSION


@pytest.mark.parametrize(
    "change, where",
    [
        ({"training.epochs": 0}, "training.epochs"),
        ({"arch.dropout_rate": 1.5}, "arch.dropout_rate"),
        ({"arch.activation": "softplus"}, "arch.activation"),
        ({"data.val_split": 0.0}, "data.val_split"),
    ],
)
def test_invalid_values_are_one_line_errors(change: dict, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        ExperimentConfig().updated(**change)


def test_unknown_fields_and_bad_json_are_refused() -> None:
    with pytest.raises(ConfigError):
        ExperimentConfig.from_dict({"surprise": 1})
    with pytest.raises(ConfigError, match="not valid JSON"):
        ExperimentConfig.from_json("{")


def test_augmentation_enabled_flag() -> None:
    config = ExperimentConfig()
    assert not config.augmentation.enabled
    assert config.updated(**{"augmentation.zoom": 0.1}).augmentation.enabled
