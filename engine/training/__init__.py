"""Training (imports TensorFlow): one trainer for every task (`trainer.train`), going on with a
run (`resume`), checkpoints, callbacks, schedules, pausing, the learning-rate finder, and the
figures a training reports at its end. Importing the package itself is cheap; its modules that
run Keras import TensorFlow.
"""
