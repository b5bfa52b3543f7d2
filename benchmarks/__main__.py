"""Run every benchmark in turn (`python3 dev.py bench`); copy the figures into docs/benchmarks.md."""

import importlib.util
import sys

from benchmarks import (
    engine_throughput,
    feature_cache,
    grid_executors,
    grid_memory,
    inference_latency,
    insight_quality,
    lesson_models,
    scale,
)


def main() -> int:
    print("== engine training throughput vs plain model.fit ==", flush=True)
    engine_throughput.main([])
    print("== single-image classification latency ==", flush=True)
    inference_latency.main([])
    print("== frozen-feature cache ==", flush=True)
    feature_cache.main([])
    print("== insight: planted label errors found, unfamiliar images flagged ==", flush=True)
    insight_quality.main([])
    print("== CapsNet against bn_cnn, denoising autoencoders ==", flush=True)
    lesson_models.main([])
    print("== memory over a grid of runs ==", flush=True)
    grid_memory.main([])
    print(
        "== scale: a folder of photos against image_dataset_from_directory (N = 300; --n 5000 25000 for the figures) ==",
        flush=True,
    )
    scale.main([])
    if importlib.util.find_spec("ray") is not None:
        print("== a grid in this process vs on a local Ray instance ==", flush=True)
        grid_executors.main([])
    try:
        from benchmarks import heartbeat
    except ImportError:
        return 0
    print("== GUI responsiveness while training ==", flush=True)
    heartbeat.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
