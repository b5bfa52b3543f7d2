"""LayerLab's window: a Qt front end over the headless `engine` package.

Importing `gui` (or any module in it) never imports TensorFlow: the window must appear at once,
while `gui.engine_loader` starts TensorFlow in the background. Only functions that run in worker
threads (`gui.workers`) import `engine.training`, `engine.inference` or `engine.layers`.
"""
