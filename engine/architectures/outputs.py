"""What a classifier's outputs are: softmax probabilities, or CapsNet's capsule lengths.

Every LayerLab classifier ends in a layer named "predictions". For the presets that is a softmax
whose outputs sum to 1. For `capsnet` it is `CapsuleLength`: one length per class in 0..1, each
the probability that its class is present, independent of the others (they need not sum to 1).
Everything that wants a distribution over the classes (top-k bars, "not sure" thresholds,
misclassified confidences, cross-entropy figures) reads `as_probabilities`: each length is read
as the paper reads it, the probability that its class is present, independently of the others;
given that exactly one class is present (one object per image), class k's probability is then
l_k Π_{j≠k} (1 − l_j) normalised, which is its odds l_k / (1 − l_k) over the sum of all odds. A
CapsNet sure of a "7" (length 0.76, the others about 0.08) so reads about 80 %, where dividing
the lengths by their sum would say 52 %. The raw lengths stay available for a front end that
shows them as the paper does. Cheap: no TensorFlow import, the model is only inspected.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

OutputKind = Literal["softmax", "capsule_lengths"]
LENGTH_LAYER = "CapsuleLength"

OUTPUT_LAYER = "predictions"


def output_layer(model: Any) -> Any:
    """The softmax layer ("predictions"), or the last layer of a model built elsewhere."""
    try:
        return model.get_layer(OUTPUT_LAYER)
    except ValueError:
        return model.layers[-1]


def output_kind(model: Any) -> OutputKind:
    """ "capsule_lengths" when the model's output layer is CapsNet's `CapsuleLength`."""
    return "capsule_lengths" if type(output_layer(model)).__name__ == LENGTH_LAYER else "softmax"


def normalise_lengths(lengths: np.ndarray) -> np.ndarray:
    """Capsule lengths (N, K) as a distribution over the K classes: each length's odds
    l / (1 − l) over the row's sum of odds (lengths clipped just inside 0..1)."""
    lengths = np.clip(np.asarray(lengths, np.float64), 1e-9, 1.0 - 1e-6)
    odds = lengths / (1.0 - lengths)
    return odds / odds.sum(axis=-1, keepdims=True)


def as_probabilities(model: Any, outputs: np.ndarray) -> np.ndarray:
    """The model's outputs (N, K) as class probabilities: unchanged for a softmax, normalised
    for capsule lengths."""
    if output_kind(model) == "capsule_lengths":
        return normalise_lengths(outputs)
    return np.asarray(outputs, np.float64)
