"""TensorFlow as a process resource: starting it quietly, its devices, op determinism, the graph
memory of custom gradients, and releasing Keras's state. Cheap to import: each TensorFlow import
here sits inside the function that needs it, because front ends import this before TensorFlow
has started.
"""
