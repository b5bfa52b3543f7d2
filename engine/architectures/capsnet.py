"""CapsNet (Sabour, Frosst & Hinton, 2017, "Dynamic routing between capsules"), preset `capsnet`.

Conv 256@9×9 (ReLU) → PrimaryCaps: Conv 256@9×9 stride 2 read as 32 channels of 8-D capsules,
squashed → DigitCaps: one 16-D capsule per class, each primary capsule's prediction weighed by
3 iterations of routing-by-agreement → the length of each class capsule ("predictions"). A
capsule's length is the probability that its class is present: the lengths are independent (they
do not sum to 1), so the model is trained with the margin loss (`MarginLoss`), not cross-entropy,
and a front end that wants a distribution normalises them (`engine.architectures.outputs`).

Small inputs: the paper's 9×9 kernels need 28 px MNIST. Below that the two kernels shrink to
about a third of the side (`capsnet_kernel`): 8×8 digits get 3×3 kernels, hence a 6×6 map and
2×2×32 = 128 primary capsules. Above ~64 px the class capsules would need tens of millions of
weights and the preset refuses.

Optional reconstruction decoder (`reconstruction=True`, the paper's regulariser): Dense 512 →
1024 → one sigmoid per pixel, reading the class capsules with all but the longest masked out; its
mean squared error against the (0..1) input, times 0.0005 per pixel summed as in the paper
(`RECONSTRUCTION_WEIGHT`), is added to the loss while training. The model has a single input,
so the decoder masks with the *predicted* class (the paper uses the true class while training,
the predicted one at test time). It passes the capsules through unchanged: the output stays the
lengths, and the saved model has one input and one output like every LayerLab classifier.

Every custom layer is registered (`layerlab>...`), so saved models load in Keras safe mode.
"""

from __future__ import annotations

import keras
from keras import ops

from engine.architectures.common import image_input
from engine.architectures.registry import builder
from engine.core.errors import ArchitectureError

Shape = tuple[int, int, int]
EPSILON = 1e-7
ROUTINGS = 3
PRIMARY_CHANNELS = 32
PRIMARY_DIM = 8
CLASS_DIM = 16
CONV_FILTERS = 256
RECONSTRUCTION_WEIGHT = 0.0005  # the paper scales the summed squared error down by this
MAX_ROUTING_WEIGHTS = 40_000_000  # DigitCaps' transformation matrices: ~160 MB in float32


def squash(vectors, axis: int = -1):
    """Shrink a vector's length into 0..1, keeping its direction: short vectors go to almost
    zero, long ones to just under 1 (‖s‖² / (1 + ‖s‖²) · s / ‖s‖)."""
    squared = ops.sum(ops.square(vectors), axis=axis, keepdims=True)
    return vectors * (squared / (1.0 + squared)) / ops.sqrt(squared + EPSILON)


@keras.saving.register_keras_serializable(package="layerlab")
class Squash(keras.layers.Layer):
    """Capsules (..., dim) squashed along their last axis (the primary capsules' nonlinearity)."""

    def call(self, inputs):
        return squash(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="layerlab")
class ClassCapsules(keras.layers.Layer):
    """DigitCaps: (batch, in_caps, in_dim) → (batch, num_capsules, dim_capsule) by routing.

    Each input capsule i predicts each output capsule j through its own matrix W_ij (û = W u);
    routing-by-agreement then weighs the predictions: coupling coefficients c = softmax over j of
    logits b (0 at first), s_j = Σ_i c_ij û_j|i, v_j = squash(s_j), b_ij += û_j|i · v_j, repeated
    `routings` times. The agreement updates do not back-propagate into û (as in the reference
    implementations): gradients reach W through the last iteration's weighted sum.
    """

    def __init__(self, num_capsules: int, dim_capsule: int = CLASS_DIM, routings: int = ROUTINGS, **kwargs) -> None:
        super().__init__(**kwargs)
        if routings < 1:
            raise ValueError(f"routing needs at least one iteration, got {routings}")
        self.num_capsules = int(num_capsules)
        self.dim_capsule = int(dim_capsule)
        self.routings = int(routings)

    def build(self, input_shape) -> None:
        in_caps, in_dim = int(input_shape[1]), int(input_shape[2])
        # Scaled so a class capsule starts with a length near 0.5 whatever the number of inputs:
        # the squash is quadratic for short vectors, and a fixed small scale (0.01) leaves the
        # capsules of small images (128 inputs for 8×8 digits) too short to ever learn.
        stddev = self.num_capsules / (3.0 * in_caps**0.5)
        self.W = self.add_weight(
            name="W",
            shape=(in_caps, self.num_capsules, self.dim_capsule, in_dim),
            initializer=keras.initializers.RandomNormal(stddev=stddev),
            trainable=True,
        )

    def call(self, inputs):
        predictions = ops.einsum("ijed,bid->bije", ops.cast(self.W, inputs.dtype), inputs)  # û: (b, in, out, dim)
        frozen = ops.stop_gradient(predictions)
        logits = ops.zeros_like(predictions[..., 0])  # b: (b, in, out)
        outputs = None
        for iteration in range(self.routings):
            coupling = ops.softmax(logits, axis=2)
            last = iteration == self.routings - 1
            weighted = ops.einsum("bij,bije->bje", coupling, predictions if last else frozen)
            outputs = squash(weighted)
            if not last:
                logits = logits + ops.einsum("bije,bje->bij", frozen, outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_capsules, self.dim_capsule)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_capsules": self.num_capsules,
            "dim_capsule": self.dim_capsule,
            "routings": self.routings,
        }


@keras.saving.register_keras_serializable(package="layerlab")
class CapsuleLength(keras.layers.Layer):
    """(batch, capsules, dim) → (batch, capsules): each capsule's length, the probability that
    its class is present. Kept in float32, like a softmax output under mixed precision."""

    def call(self, inputs):
        inputs = ops.cast(inputs, "float32")
        return ops.sqrt(ops.sum(ops.square(inputs), axis=-1) + EPSILON)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])


@keras.saving.register_keras_serializable(package="layerlab")
class CapsuleReconstruction(keras.layers.Layer):
    """The reconstruction regulariser: [class capsules, image 0..1] → the class capsules,
    unchanged; while training, adds `weight` × the summed squared error of the decoder's
    reconstruction (from the longest capsule alone) to the model's loss."""

    def __init__(self, image_shape: tuple[int, int, int], weight: float = RECONSTRUCTION_WEIGHT, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.weight = float(weight)
        pixels = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]
        self.hidden_1 = keras.layers.Dense(512, activation="relu", name="decoder_dense_1")
        self.hidden_2 = keras.layers.Dense(1024, activation="relu", name="decoder_dense_2")
        self.pixels = keras.layers.Dense(pixels, activation="sigmoid", name="decoder_pixels")

    def build(self, input_shape) -> None:
        capsules_shape, _ = input_shape
        flat = int(capsules_shape[1]) * int(capsules_shape[2])
        self.hidden_1.build((None, flat))
        self.hidden_2.build((None, 512))
        self.pixels.build((None, 1024))

    def reconstruct(self, capsules):
        """The decoder's image (batch, pixels) in 0..1 from the longest capsule alone."""
        lengths = ops.sqrt(ops.sum(ops.square(capsules), axis=-1) + EPSILON)
        mask = ops.stop_gradient(
            ops.one_hot(ops.argmax(lengths, axis=-1), ops.shape(capsules)[1], dtype=capsules.dtype)
        )
        masked = ops.reshape(capsules * mask[..., None], (ops.shape(capsules)[0], -1))
        return self.pixels(self.hidden_2(self.hidden_1(masked)))

    def call(self, inputs, training=None):
        capsules, images = inputs
        if training:
            target = ops.reshape(ops.cast(images, capsules.dtype), (ops.shape(images)[0], -1))
            error = ops.sum(ops.square(self.reconstruct(capsules) - target), axis=-1)
            self.add_loss(self.weight * ops.cast(ops.mean(error), "float32"))
        return capsules

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "image_shape": list(self.image_shape), "weight": self.weight}


@keras.saving.register_keras_serializable(package="layerlab")
class MarginLoss(keras.losses.Loss):
    """The margin loss of the paper, for integer labels and capsule lengths:
    Σ_k T_k max(0, m⁺ − ‖v_k‖)² + λ (1 − T_k) max(0, ‖v_k‖ − m⁻)², m⁺ 0.9, m⁻ 0.1, λ 0.5.
    The present class is pushed above 0.9, every other below 0.1 (several classes may be
    present at once, which cross-entropy over a softmax cannot express)."""

    def __init__(
        self, m_plus: float = 0.9, m_minus: float = 0.1, down_weight: float = 0.5, name: str = "margin_loss", **kwargs
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.m_plus, self.m_minus, self.down_weight = float(m_plus), float(m_minus), float(down_weight)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        present = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype="float32")
        above = ops.square(ops.maximum(0.0, self.m_plus - y_pred))
        below = ops.square(ops.maximum(0.0, y_pred - self.m_minus))
        return ops.sum(present * above + self.down_weight * (1.0 - present) * below, axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "m_plus": self.m_plus, "m_minus": self.m_minus, "down_weight": self.down_weight}


def capsnet_kernel(side: int) -> int:
    """The kernel of both convolutions for images `side` pixels across: the paper's 9 from
    28 px up; about a third of the side below (3 for 8×8 digits), so two valid convolutions,
    the second of stride 2, still leave a map of at least 2×2."""
    return max(3, min(9, (side + 2) // 3))


def _check_size(input_shape: Shape, kernel: int) -> tuple[int, int]:
    """The primary capsules' map (rows, cols), or `ArchitectureError` when it is empty."""
    h, w, _ = input_shape
    rows, cols = (h - kernel + 1 - kernel) // 2 + 1, (w - kernel + 1 - kernel) // 2 + 1
    if rows < 1 or cols < 1:
        raise ArchitectureError(f"capsnet needs images of at least 5×5 pixels, got {h}×{w}")
    return rows, cols


@builder("capsnet")
def build_capsnet(
    input_shape: Shape,
    num_classes: int,
    *,
    reconstruction: bool = True,
    activation: str = "relu",
) -> keras.Model:
    """Conv → PrimaryCaps → ClassCapsules (routing) → [reconstruction decoder] → lengths.

    Layers: image → rescale → conv_1 (256, ReLU) → primary_conv (256, stride 2) →
    primary_capsules (Reshape to (N, 8)) → primary_squash → class_capsules (K × 16-D) →
    [reconstruction] → predictions (capsule lengths). The activation choice applies to conv_1.
    """
    kernel = capsnet_kernel(min(input_shape[0], input_shape[1]))
    rows, cols = _check_size(input_shape, kernel)
    primary = rows * cols * PRIMARY_CHANNELS
    weights = primary * num_classes * CLASS_DIM * PRIMARY_DIM
    if weights > MAX_ROUTING_WEIGHTS:
        h, w, _ = input_shape
        raise ArchitectureError(
            f"capsnet on {h}×{w} images would route {primary:,} primary capsules through "
            f"{weights / 1e6:.0f} million weights; use images of 64 px or less"
        )
    inputs = image_input(input_shape)
    scaled = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    # He initialisation keeps the primary capsules' vectors near unit length before the squash.
    x = keras.layers.Conv2D(CONV_FILTERS, kernel, activation=activation, kernel_initializer="he_normal", name="conv_1")(
        scaled
    )
    x = keras.layers.Conv2D(
        PRIMARY_CHANNELS * PRIMARY_DIM, kernel, strides=2, kernel_initializer="he_normal", name="primary_conv"
    )(x)
    x = keras.layers.Reshape((primary, PRIMARY_DIM), name="primary_capsules")(x)
    x = Squash(name="primary_squash")(x)
    capsules = ClassCapsules(num_classes, CLASS_DIM, ROUTINGS, name="class_capsules")(x)
    if reconstruction:
        capsules = CapsuleReconstruction(tuple(input_shape), name="reconstruction")([capsules, scaled])
    lengths = CapsuleLength(name="predictions", dtype="float32")(capsules)
    return keras.Model(inputs, lengths, name="capsnet")


CUSTOM_OBJECTS: dict[str, type] = {
    f"layerlab>{cls.__name__}": cls for cls in (Squash, ClassCapsules, CapsuleLength, CapsuleReconstruction, MarginLoss)
}
