"""Training (imports TensorFlow): `train(config, observer, cancel) -> TrainResult`."""
from engine.feature_store import FeatureCache
from engine.memory import MemoryBudget
from engine.training.device import device_name, gpu_memory_mb
from engine.training.trainer import TrainResult, train, unfreeze_last

__all__ = ["train", "TrainResult", "FeatureCache", "MemoryBudget", "device_name", "gpu_memory_mb", "unfreeze_last"]
