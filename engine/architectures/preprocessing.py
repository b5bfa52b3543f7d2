"""`ImagenetPreprocess`: a backbone's `preprocess_input` as a serialisable layer.

Keras applications expect their own input scaling, usually applied outside the model. LayerLab
puts it inside, so a saved model takes plain 0..255 pixels. A Lambda layer would do the same but
cannot be loaded in Keras' safe mode, hence this small registered layer.
"""

from __future__ import annotations

import keras
from keras import ops

IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)  # caffe mode, 0..255 scale
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "tf", "torch", "none")


@keras.saving.register_keras_serializable(package="layerlab")
class ImagenetPreprocess(keras.layers.Layer):
    """RGB 0..255 (channels last) → what an ImageNet network was trained on.

    mode "caffe": RGB→BGR, minus the ImageNet mean (VGG16, ResNet50); "tf": scale to -1..1
    (MobileNetV2, InceptionV3); "torch": 0..1, minus mean, divided by std; "none": unchanged
    (EfficientNet scales itself).
    """

    def __init__(self, mode: str = "caffe", **kwargs) -> None:
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"unknown preprocessing mode {mode!r} (known: {', '.join(MODES)})")
        self.mode = mode

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "caffe":
            x = ops.flip(x, axis=-1)
            return x - ops.convert_to_tensor(IMAGENET_MEAN_BGR, dtype=self.compute_dtype)
        if self.mode == "torch":
            mean = ops.convert_to_tensor(TORCH_MEAN, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(TORCH_STD, dtype=self.compute_dtype)
            return (x / 255.0 - mean) / std
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


CUSTOM_OBJECTS: dict[str, type] = {"layerlab>ImagenetPreprocess": ImagenetPreprocess}
