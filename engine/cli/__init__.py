"""`layerlab-cli`: the engine's command-line front end (a parser, shared helpers, one module per
command group). Cheap to import: TensorFlow starts only once a command's cheap checks pass, so a
mistake is refused in a fraction of a second.
"""

from engine.cli.main import main

__all__ = ["main"]
