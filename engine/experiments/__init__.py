"""Experiments: runs side by side (`compare`) and ablation grids of ordinary runs (`grid`).

Cheap to import: TensorFlow loads only when a grid trains.
"""
