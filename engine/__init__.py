"""LayerLab's engine: datasets, architectures, layer freezing, training, inference and runs.

Importing `engine` is cheap: TensorFlow is only imported by the submodules that need it
(datasets' tf pipelines, architectures, training, inference), so a front end can import the
config and events at once and start TensorFlow in the background.

Modules log under `engine.*`; as a library the engine sets no handler of its own (the window
writes a log file; the CLI keeps stderr to one line per problem).
"""

import logging

logging.getLogger("engine").addHandler(logging.NullHandler())

__version__ = "0.1.0"
