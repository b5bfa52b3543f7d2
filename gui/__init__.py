"""LayerLab's window: a Qt front end over the headless `engine` package.

Importing `gui` (or any module in it) never imports TensorFlow: the window must appear at once,
while TensorFlow starts in a background task (`gui.engine_startup`). Only the jobs that run on
background lanes (`gui.jobs`) import `engine.training`, `engine.inference.classifier` or `engine.architectures.layers`.
Layout: `session` (Qt-free state), `tasks` (the one task runner), `controllers/` (one per
workflow), `panels/` (views), `binding` (config fields ↔ widgets), `main_window` (assembly).
"""
