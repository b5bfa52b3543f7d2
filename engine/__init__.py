"""LayerLab's engine: datasets, architectures, layer freezing, training, inference and runs.

Importing `engine` is cheap: TensorFlow is only imported by the submodules that need it
(datasets' tf pipelines, architectures, training, inference), so a front end can import the
config and events at once and start TensorFlow in the background.
"""

__version__ = "0.1.0"
