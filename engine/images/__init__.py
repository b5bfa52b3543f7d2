"""Images in and out of a network: decoding anything a user drops (or refusing it), and the one
rule that prepares an image for a model (`PreprocessSpec`), shared by training and inference.
Cheap: imports `core` only, never TensorFlow.
"""
