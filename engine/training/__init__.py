"""Training (imports TensorFlow): `train(config, observer, cancel) -> TrainResult`."""
from engine.training.device import device_name, gpu_memory_mb
from engine.training.trainer import TrainResult, train, unfreeze_last

__all__ = ["train", "TrainResult", "device_name", "gpu_memory_mb", "unfreeze_last"]
