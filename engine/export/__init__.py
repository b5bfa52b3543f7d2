"""Exporting a run's model for other programs (Keras, SavedModel, TFLite, ONNX), each export
checked against the Keras model after writing. Cheap to import: each format's tools are imported
when that format is written.
"""
