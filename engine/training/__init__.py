"""Training (imports TensorFlow): `train(config, observer, cancel) -> TrainResult`; going on with a
run (`resume_run`, `continue_run`, `fork_run`)."""
from engine.caches.features import FeatureCache
from engine.core.memory import MemoryBudget
from engine.runtime.devices import device_name, gpu_memory_mb
from engine.training.resume import continue_run, fork_run, resume_run
from engine.training.trainer import TrainResult, train, unfreeze_last

__all__ = ["train", "TrainResult", "FeatureCache", "MemoryBudget", "device_name", "gpu_memory_mb", "unfreeze_last",
           "resume_run", "continue_run", "fork_run"]
