"""Disk caches that only save work: decoded images of class folders and frozen-layer features,
where they live, how big they are, and how to clear them. Cheap: imports `core` and `images`,
never TensorFlow.
"""
