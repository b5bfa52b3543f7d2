"""One controller per workflow of the window.

Each controller owns the background task slots of its workflow, changes the Qt-free `Session`
(gui/session.py) from the results, and renders its part of the session into the view it was
given. A view is any object with the methods the controller calls (a panel in the window, a
recording fake in tests); controllers never touch another workflow's view, and views never
call each other. `MainWindow` lays the panels out and connects their intent signals to
controller methods: nothing else.

- `engine.EngineController`     TensorFlow start-up and the device
- `data.DataController`         loading the chosen dataset
- `inspect.InspectController`   building the model for the layer table
- `preview.PreviewController`   the augmentation preview
- `training.TrainingController` the training lane: a training, a grid or a label check; progress,
                                curves, stop, GPU memory
- `results.ResultsController`   final metrics, confusion matrix and the errors gallery
- `classify.ClassifyController` dropped, pasted and opened images; trust, where it looked, layers
- `runs.RunsController`         the runs list, opening a run, reusing its settings, comparing runs
- `grid.GridController`         grids of runs from the Grid tab, live rows, stop and resume
- `insight_map.MapController`   the map of the validation images, dropped images as stars
- `labels.LabelsController`     likely label errors and the user's decisions about them
- `persistence.PersistenceController`  what is remembered between launches (and what is not)
"""
