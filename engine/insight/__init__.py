"""Insight: why a model answers what it answers, which data is wrong, and when not to trust it.

Cheap to import: each module imports TensorFlow, scikit-learn or cleanlab only inside the
functions that need them.

- `metrics`: precision, recall, F1 and support per class; the most confused pairs.
- `explain`: Grad-CAM (convolutional models) and gradient saliency (MLPs), overlays that land on
  the original image, feature maps and first-layer filters.
- `embedding`: penultimate-layer features projected to 2-D (PCA; UMAP or t-SNE when available).
- `label_issues`: confident learning on out-of-sample probabilities; the user's decisions kept
  in a sidecar file beside the dataset (`decisions`).
- `ood`: an out-of-distribution score fitted at the end of training and saved with the run.
- `training`: what the trainer calls (label decisions before, per-class metrics and the OOD fit
  after), so the trainer itself changes in two lines.
"""
