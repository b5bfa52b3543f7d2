"""The work the window sends to background lanes, one module per workflow; each job takes the
`Task` handle first and returns plain data.

These are the only places in `gui` that call TensorFlow-bound engine code, and only through the
engine's public API (`engine`). A name that loads TensorFlow is imported inside the job, in the
worker thread, after `load_engine()`: importing a jobs module never starts TensorFlow on the UI
thread.
"""
