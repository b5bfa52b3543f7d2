"""`folder:PATH` — one sub-folder of images per class.

Two layouts: a single root (`PATH/cat/*.jpg`, `PATH/dog/*.jpg`), split for validation with a
stratified, seeded fraction; or the classic `PATH/train/<class>/`, `PATH/valid/` or
`PATH/validation/` (and optionally `PATH/test/`). Every image is decoded, its aspect ratio kept by
padding, and resized to a square; files that cannot be decoded are skipped and listed.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from engine.config import DataOptions
from engine.datasets.base import Dataset, stratified_split, stratified_subset
from engine.errors import DatasetError, ImageError
from engine.images import IMAGE_EXTENSIONS, open_image, to_array

DEFAULT_IMAGE_SIZE = 64
VALIDATION_NAMES = ("valid", "validation", "val")


def load_folder(path_text: str, options: DataOptions, seed: int) -> Dataset:
    root = Path(path_text).expanduser()
    if not root.exists():
        raise DatasetError(f"folder not found: {root}")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file; choose the folder that holds one sub-folder per class")
    size = options.image_size or DEFAULT_IMAGE_SIZE
    train_root = root / "train"
    val_root = next((root / n for n in VALIDATION_NAMES if (root / n).is_dir()), None)
    if train_root.is_dir() and val_root is not None:
        return _split_layout(root, train_root, val_root, size, options, seed)
    # train/ alone or with test/ (no validation folder): split train/. Only when every sub-folder is
    # a split name, since "train" may also be a class (vehicles: bus, car, train).
    folders = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    split_names = folders <= {"train", "test"} and "train" in folders
    test_root = root / "test" if split_names and "test" in folders else None
    files, labels, classes = _scan(train_root if split_names else root)
    files, labels = _prelimit(files, labels, options.limit and options.limit / (1 - options.val_split), seed)
    images, labels, sources, skipped, channels = _decode_all(files, labels, size)
    classes, labels = _drop_empty(classes, labels, root)
    x_test = y_test = test_sources = None
    if test_root is not None:  # train/ and test/ without a validation folder: split train/
        x_test, y_test, test_sources, skip = _decode_split(test_root, classes, size, options.limit, len(files), seed)
        skipped += skip
        images, x_test = _unify_channels(images, x_test)
        if len(x_test) == 0:
            x_test = y_test = None
    x_train, y_train, x_val, y_val, train_sources, val_sources = stratified_split(images, labels, options.val_split, seed, sources)
    return Dataset(options.name, classes, x_train, y_train, x_val, y_val, x_test, y_test,
                   val_sources=val_sources, skipped=skipped, train_sources=train_sources, test_sources=test_sources)


def _prelimit(files: list[Path], labels: list[int], limit: float | None, seed: int) -> tuple[list[Path], list[int]]:
    """Decode only a stratified share of a big folder when a sample limit is set (decoding is the slow
    part); `load_dataset` makes the exact cut afterwards. A margin covers undecodable files."""
    if not limit or len(files) <= limit * 1.1:
        return files, labels
    keep = stratified_subset(np.asarray(labels), int(limit * 1.1) + 1, seed)
    return [files[i] for i in keep], [labels[i] for i in keep]


def _decode_split(split_root: Path, classes: list[str], size: int, limit: int | None, n_train: int, seed: int):
    """Decode a val/test folder against the train classes; (x, y, sources, skipped)."""
    f, lb, cls = _scan(split_root, require_classes=False)
    unknown = sorted(set(cls[i] for i in set(lb)) - set(classes))
    if unknown:
        raise DatasetError(f"{split_root.name}/ has classes that train/ lacks: {', '.join(unknown)}")
    index = {c: i for i, c in enumerate(classes)}
    lb = [index[cls[i]] for i in lb]
    if limit and n_train > limit:
        f, lb = _prelimit(f, lb, len(f) * limit / n_train, seed)
    x, y, src, skip, _ = _decode_all(f, np.asarray(lb, np.int32), size)
    return x, y, src, skip


def _split_layout(root: Path, train_root: Path, val_root: Path, size: int, options: DataOptions, seed: int) -> Dataset:
    files, labels, classes = _scan(train_root)
    n_files = len(files)
    files, labels = _prelimit(files, labels, options.limit, seed)
    x_train, y_train, train_sources, skipped, _ = _decode_all(files, labels, size)
    kept, y_train = _drop_empty(classes, y_train, train_root)
    x_val, y_val, val_sources, skip = _decode_split(val_root, kept, size, options.limit, n_files, seed)
    skipped += skip
    if len(x_val) == 0:
        raise DatasetError(f"{val_root} holds no readable images")
    x_test = y_test = test_sources = None
    if (root / "test").is_dir():
        x_test, y_test, test_sources, skip = _decode_split(root / "test", kept, size, options.limit, n_files, seed)
        skipped += skip
    x_train, x_val, x_test = _unify_channels(x_train, x_val, x_test)
    if x_test is not None and len(x_test) == 0:
        x_test = y_test = None
    return Dataset(options.name, kept, x_train, y_train, x_val, y_val, x_test, y_test,
                   val_sources=val_sources, skipped=skipped, train_sources=train_sources, test_sources=test_sources)


def _scan(root: Path, require_classes: bool = True) -> tuple[list[Path], list[int], list[str]]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if require_classes and len(classes) < 2:
        found = f"only '{classes[0]}'" if classes else "no sub-folders"
        raise DatasetError(f"{root} needs one sub-folder per class, at least two; it has {found}")
    files, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).rglob("*")):
            hidden = any(part.startswith(".") for part in path.relative_to(root / name).parts)
            # Anything named like an image but a folder is a candidate: open_image then says why a
            # pipe, a dangling link or an unreadable file was skipped, instead of dropping it unseen.
            if not hidden and path.suffix.lower() in IMAGE_EXTENSIONS and not path.is_dir():
                files.append(path)
                labels.append(label)
    return files, labels, classes


def _decode_all(files: list[Path], labels, size: int):
    """Decode in threads (Pillow releases the GIL); return the images that worked, and the rest."""
    def decode(path: Path) -> np.ndarray | str:
        try:
            image = open_image(path, draft_size=(size * 2, size * 2))
        except ImageError as err:
            return str(err)
        return to_array(image, (size, size), 1 if image.mode == "L" else 3)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        decoded = list(pool.map(decode, files))
    ok = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
    skipped = [(str(files[i]), d) for i, d in enumerate(decoded) if isinstance(d, str)]
    channels = 3 if any(decoded[i].shape[-1] == 3 for i in ok) else 1
    images = np.stack([_channels(decoded[i], channels) for i in ok]) if ok else np.zeros((0, size, size, channels), np.uint8)
    y = np.asarray([labels[i] for i in ok], np.int32)
    return images, y, [str(files[i]) for i in ok], skipped, channels


def _channels(image: np.ndarray, channels: int) -> np.ndarray:
    return np.repeat(image, 3, axis=-1) if channels == 3 and image.shape[-1] == 1 else image


def _unify_channels(*arrays: np.ndarray | None) -> list[np.ndarray | None]:
    """Greyscale only if every split is greyscale; otherwise all become RGB."""
    rgb = any(a is not None and a.shape[-1] == 3 for a in arrays)
    return [_channels(a, 3) if rgb and a is not None else a for a in arrays]


def _drop_empty(classes: list[str], labels: np.ndarray, root: Path) -> tuple[list[str], np.ndarray]:
    """Classes whose images all failed to decode are dropped; fewer than two left is an error."""
    present = sorted(set(labels.tolist()))
    if len(present) < 2:
        readable = f"only '{classes[present[0]]}' has" if present else "no class has"
        raise DatasetError(f"{root}: {readable} readable images; LayerLab needs at least two classes")
    remap = {old: new for new, old in enumerate(present)}
    return [classes[i] for i in present], np.asarray([remap[v] for v in labels], np.int32)
