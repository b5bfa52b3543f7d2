"""The engine's shared vocabulary: errors, cancellation, events and the records they carry, the
memory budget, and safe file I/O. Cheap: imports nothing of the engine outside `core` and never
TensorFlow.
"""
