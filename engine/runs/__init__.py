"""Run folders and what they hold: config, history, metrics, the preprocessing spec, checkpoints,
and the saved model (opened only in Keras's safe mode, after LayerLab's own checks). Cheap:
imports `core`, `images` and the config; Keras is imported only inside the functions that load
or save a model.
"""
