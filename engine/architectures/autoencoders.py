"""Autoencoders for image datasets: a dense and a convolutional one.

Both take float32 pixels 0..255 like every LayerLab model ("image" → "rescale" 1/255) and end
in "reconstruction": the image again, (H, W, C) in 0..1 (sigmoid, float32 under mixed
precision). They are trained (engine.training.tasks) to reproduce the clean image from
the input, which for a denoising autoencoder (`noise` > 0) carries Gaussian noise added by the
training data pipeline, never by the model: the saved model is deterministic, and
engine.inference.reconstruction adds the same noise when it shows what the model does. Only standard Keras
layers: the models load in safe mode with nothing registered.

- `dense_autoencoder`: Flatten → Dense 256 → Dense `latent_size` ("latent") → Dense 256 →
  Dense H·W·C (sigmoid) → Reshape.
- `conv_autoencoder` (the Keras blog's denoiser, "Building Autoencoders in Keras", 2016):
  2 × (Conv 32 3×3 → MaxPool 2×2) → the code ("latent", (H/4)×(W/4)×32) → 2 × (Conv 32 3×3 →
  UpSampling 2×2) → Conv C 3×3 (sigmoid), cropped back to H×W when a side is not a multiple of
  4. `latent_size` does not apply (its code is the pooled map).
"""

from __future__ import annotations

import keras

from engine.architectures.common import activation_layer, check_dense, image_input
from engine.architectures.registry import builder

Shape = tuple[int, int, int]
HIDDEN_UNITS = 256
FILTERS = 32
OUTPUT = "reconstruction"


def _start(input_shape: Shape) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    inputs = image_input(input_shape)
    return inputs, keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)


def _dense(x, units: int, name: str, activation: str):
    x = keras.layers.Dense(units, name=name)(x)
    return activation_layer(activation, f"{name}_act")(x)


@builder("dense_autoencoder")
def build_dense_autoencoder(
    input_shape: Shape, num_classes: int, *, latent_size: int = 32, activation: str = "relu"
) -> keras.Model:
    """Flatten → 256 → latent → 256 → pixels. `num_classes` is ignored (no classes here)."""
    h, w, c = input_shape
    pixels = h * w * c
    check_dense("dense_autoencoder", pixels, HIDDEN_UNITS, input_shape)
    inputs, x = _start(input_shape)
    x = keras.layers.Flatten(name="flatten")(x)
    x = _dense(x, HIDDEN_UNITS, "encoder_dense", activation)
    x = _dense(x, latent_size, "latent", activation)
    x = _dense(x, HIDDEN_UNITS, "decoder_dense", activation)
    x = keras.layers.Dense(pixels, activation="sigmoid", dtype="float32", name="decoder_pixels")(x)
    outputs = keras.layers.Reshape((h, w, c), dtype="float32", name=OUTPUT)(x)
    return keras.Model(inputs, outputs, name="dense_autoencoder")


@builder("conv_autoencoder")
def build_conv_autoencoder(input_shape: Shape, num_classes: int, *, activation: str = "relu") -> keras.Model:
    """2 × (Conv → MaxPool) → 2 × (Conv → UpSampling) → Conv (sigmoid) [→ crop]."""
    h, w, c = input_shape
    inputs, x = _start(input_shape)
    for i in (1, 2):
        x = keras.layers.Conv2D(FILTERS, 3, padding="same", name=f"encoder_conv_{i}")(x)
        x = activation_layer(activation, f"encoder_act_{i}")(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name="latent" if i == 2 else f"encoder_pool_{i}")(x)
    for i in (1, 2):
        x = keras.layers.Conv2D(FILTERS, 3, padding="same", name=f"decoder_conv_{i}")(x)
        x = activation_layer(activation, f"decoder_act_{i}")(x)
        x = keras.layers.UpSampling2D(2, name=f"decoder_up_{i}")(x)
    extra_h, extra_w = int(x.shape[1]) - h, int(x.shape[2]) - w
    cropped = extra_h or extra_w
    x = keras.layers.Conv2D(
        c, 3, padding="same", activation="sigmoid", dtype="float32", name="decoder_pixels" if cropped else OUTPUT
    )(x)
    if cropped:
        crop = ((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2))
        x = keras.layers.Cropping2D(crop, dtype="float32", name=OUTPUT)(x)
    return keras.Model(inputs, x, name="conv_autoencoder")
