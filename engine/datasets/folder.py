"""`folder:PATH` — one sub-folder of images per class, loaded as a streamed `FolderDataset`.

Two layouts: a single root (`PATH/cat/*.jpg`, `PATH/dog/*.jpg`), split for validation with a
stratified, seeded fraction; or the classic `PATH/train/<class>/`, `PATH/valid/` or
`PATH/validation/` (and optionally `PATH/test/`). Loading lists the files and checks each one's
header (or asks the decoded-image cache, which knows the files it has seen): nothing is decoded
yet. Files that are not readable images are skipped and listed. Each image is later decoded with
its aspect ratio kept by padding and shrunk to a square by the `data.resample` rule
(`engine.datasets.decoding`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.caches.images import ImageCache, ImageStore
from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.core.memory import MemoryBudget
from engine.datasets.base import stratified_indices, stratified_subset
from engine.datasets.folder_files import ImageFile, check_files, list_class_files
from engine.datasets.streamed import FolderDataset

DEFAULT_IMAGE_SIZE = 64
VALIDATION_NAMES = ("valid", "validation", "val")

Skipped = list[tuple[str, str]]


def load_folder(
    path_text: str,
    options: DataOptions,
    seed: int,
    *,
    image_cache: ImageCache | None = None,
    budget: MemoryBudget | None = None,
) -> FolderDataset:
    root = Path(path_text).expanduser()
    if not root.exists():
        raise DatasetError(f"folder not found: {root}")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file; choose the folder that holds one sub-folder per class")
    size = options.image_size or DEFAULT_IMAGE_SIZE
    cache = image_cache if image_cache is not None else ImageCache()
    store = cache.store(size, size, options.resample) if cache.enabled else None
    train_root = root / "train"
    val_root = next((root / n for n in VALIDATION_NAMES if (root / n).is_dir()), None)
    if train_root.is_dir() and val_root is not None:
        splits, classes, skipped = _split_layout(root, train_root, val_root, store, options, seed)
    else:
        splits, classes, skipped = _single_root(root, store, options, seed)
    return FolderDataset(
        options.name,
        classes,
        splits,
        image_size=size,
        store=store,
        skipped=skipped,
        budget=budget,
        resample=options.resample,
    )


def _single_root(
    root: Path, store: ImageStore | None, options: DataOptions, seed: int
) -> tuple[dict[str, list[ImageFile]], list[str], Skipped]:
    # train/ alone or with test/ (no validation folder): split train/. Only when every sub-folder is
    # a split name, since "train" may also be a class (vehicles: bus, car, train).
    folders = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    split_names = folders <= {"train", "test"} and "train" in folders
    test_root = root / "test" if split_names and "test" in folders else None
    paths, labels, classes = list_class_files(root / "train" if split_names else root)
    paths, labels = _prelimit(paths, labels, options.limit and options.limit / (1 - options.val_split), seed)
    files, skipped = check_files(paths, labels, store)
    classes, files = _drop_empty(classes, files, root)
    splits: dict[str, list[ImageFile]] = {}
    if test_root is not None:
        splits["test"], skip = _split_files(test_root, classes, store, options.limit, len(paths), seed)
        skipped += skip
    train, val = stratified_indices(np.asarray([f.label for f in files], np.int32), options.val_split, seed)
    splits["train"], splits["validation"] = [files[i] for i in train], [files[i] for i in val]
    return splits, classes, skipped


def _split_layout(
    root: Path, train_root: Path, val_root: Path, store: ImageStore | None, options: DataOptions, seed: int
) -> tuple[dict[str, list[ImageFile]], list[str], Skipped]:
    paths, labels, classes = list_class_files(train_root)
    n_files = len(paths)
    paths, labels = _prelimit(paths, labels, options.limit, seed)
    train, skipped = check_files(paths, labels, store)
    kept, train = _drop_empty(classes, train, train_root)
    val, skip = _split_files(val_root, kept, store, options.limit, n_files, seed)
    skipped += skip
    if not val:
        raise DatasetError(f"{val_root} holds no readable images")
    splits = {"train": train, "validation": val}
    if (root / "test").is_dir():
        splits["test"], skip = _split_files(root / "test", kept, store, options.limit, n_files, seed)
        skipped += skip
    return splits, kept, skipped


def _prelimit(paths: list[Path], labels: list[int], limit: float | None, seed: int) -> tuple[list[Path], list[int]]:
    """Check only a stratified share of a big folder when a sample limit is set; `load_dataset`
    makes the exact cut afterwards. A margin covers unreadable files."""
    if not limit or len(paths) <= limit * 1.1:
        return paths, labels
    keep = stratified_subset(np.asarray(labels), int(limit * 1.1) + 1, seed)
    return [paths[i] for i in keep], [labels[i] for i in keep]


def _split_files(
    split_root: Path, classes: list[str], store: ImageStore | None, limit: int | None, n_train: int, seed: int
) -> tuple[list[ImageFile], Skipped]:
    """The readable files of a val/test folder, labelled by the train classes; and the skipped ones."""
    paths, labels, found = list_class_files(split_root, require_classes=False)
    unknown = sorted(set(found[i] for i in set(labels)) - set(classes))
    if unknown:
        raise DatasetError(f"{split_root.name}/ has classes that train/ lacks: {', '.join(unknown)}")
    index = {c: i for i, c in enumerate(classes)}
    labels = [index[found[i]] for i in labels]
    if limit and n_train > limit:
        paths, labels = _prelimit(paths, labels, len(paths) * limit / n_train, seed)
    return check_files(paths, labels, store)


def _drop_empty(classes: list[str], files: list[ImageFile], root: Path) -> tuple[list[str], list[ImageFile]]:
    """Classes without a readable image are dropped; fewer than two left is an error."""
    present = sorted({f.label for f in files})
    if len(present) < 2:
        readable = f"only '{classes[present[0]]}' has" if present else "no class has"
        raise DatasetError(f"{root}: {readable} readable images; LayerLab needs at least two classes")
    remap = {old: new for new, old in enumerate(present)}
    if all(old == new for old, new in remap.items()):
        return classes, files
    return [classes[i] for i in present], [ImageFile(f.path, remap[f.label], f.key, f.channels) for f in files]
