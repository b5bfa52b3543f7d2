"""Using a trained model: classifying images (`Classifier`), reconstructing them with an
autoencoder, and the pretrained ImageNet networks. Cheap to import; TensorFlow is imported inside
the functions that run a model, so front ends can import this before TensorFlow has started.
"""
