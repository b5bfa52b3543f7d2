"""Decoding a folder's images in parallel, in a fixed order, through the decoded-image cache.

One rule turns a file into training pixels: `engine.images.decode.open_image` (EXIF orientation, modes,
animations, bombs; a JPEG decoded at a reduced scale, see `decode_file`) then `to_array` at the
image's own channel count (aspect kept, padded to a square with its border colour), shrunk by the
dataset's resample rule (`engine.images.decode.RESAMPLE_RULES`). Pillow releases the interpreter's lock
while it decodes and resizes, so a small pool of threads decodes in parallel while the training
thread feeds TensorFlow; at most `ahead` images are in flight, so memory stays bounded whatever
the folder's size.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from engine.caches.images import ImageStore
from engine.core.cancel import Cancelled
from engine.core.errors import ImageError
from engine.core.files import printable_name
from engine.datasets.folder_files import ImageFile
from engine.images.decode import DEFAULT_RESAMPLE, Resample, open_for_network, to_array

MAX_WORKERS = 8


def decode_workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def decode_file(path: str, size: int, resample: Resample = DEFAULT_RESAMPLE) -> np.ndarray:
    """The (size, size, 1|3) uint8 pixels of one file; raises `ImageError` with the reason.
    A JPEG is decoded at a reduced scale (`engine.images.decode.open_for_network`): a big photo costs a
    fraction of its full decode. Inference decodes a dropped file the same way
    (`engine.inference.classifier.prepare`)."""
    image = open_for_network(path, size, resample)
    return to_array(image, (size, size), 1 if image.mode == "L" else 3, resample=resample)


def as_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """A greyscale image repeated to RGB when the dataset is in colour (or, should a file decode
    to colour in a greyscale dataset, converted the way Pillow makes "L")."""
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=-1)
    return np.asarray(Image.fromarray(image, "RGB").convert("L"))[..., None]


@dataclass(frozen=True)
class Loaded:
    """One file's outcome: its pixels, or why it has none."""

    position: int  # where it stands in the order asked for
    image: np.ndarray | None
    reason: str = ""
    decoded: bool = False  # decoded now, rather than read from the cache


def load_in_order(
    files: Sequence[ImageFile],
    positions: Iterable[int],
    *,
    size: int,
    store: ImageStore | None,
    cancel: Any = None,
    ahead: int = 64,
    workers: int | None = None,
    write: bool = True,
    resample: Resample = DEFAULT_RESAMPLE,
) -> Iterator[Loaded]:
    """`files[p]` for each p of `positions`, in that order: from the cache (which must be the
    store of this size and `resample` rule), or decoded by the pool and then stored in the cache
    (from this thread; `write=False` only reads it). The caller flushes the store when its pass
    is over.

    Raises `Cancelled` once `cancel.cancelled` is set: the decodes already running finish,
    no new one starts. Closing the iterator early stops the pool the same way.
    """
    pending: deque[tuple[int, Future]] = deque()
    order = iter(positions)
    pool = ThreadPoolExecutor(max_workers=workers or decode_workers(), thread_name_prefix="layerlab-decode")
    decode = partial(_decode, size=size, resample=resample)
    try:
        _submit(pool, pending, order, files, decode, store, max(1, ahead))
        while pending:
            if cancel is not None and cancel.cancelled:
                raise Cancelled("stopped while decoding images")
            position, future = pending.popleft()
            image, reason, decoded = future.result()
            _submit(pool, pending, order, files, decode, store, max(1, ahead))
            if store is not None and decoded and write:
                if image is not None:
                    store.write(files[position].key, image)
                else:
                    store.write_failure(files[position].key, reason)
            yield Loaded(position, image, reason, decoded)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _submit(
    pool: ThreadPoolExecutor,
    pending: deque,
    order: Iterator[int],
    files: Sequence[ImageFile],
    decode: Callable[[ImageFile], tuple[np.ndarray | None, str, bool]],
    store: ImageStore | None,
    ahead: int,
) -> None:
    """Queue up to `ahead` files: cached ones are read here and now (a positioned read of a few
    hundred kilobytes costs less than handing it to a thread, and waking threads would steal the
    cores TensorFlow's own threads are computing on); the others go to the pool to be decoded."""
    while len(pending) < ahead:
        position = next(order, None)
        if position is None:
            return
        cached = store.read(files[position].key) if store is not None else None
        if cached is not None:
            done: Future = Future()
            done.set_result((cached, "", False))
            pending.append((position, done))
        else:
            pending.append((position, pool.submit(decode, files[position])))


def _decode(file: ImageFile, *, size: int, resample: Resample) -> tuple[np.ndarray | None, str, bool]:
    try:
        return decode_file(file.path, size, resample), "", True
    except ImageError as err:
        return None, str(err), True
    except Exception as err:  # a decoder fault on one user's file must not stop the others
        return None, f"{printable_name(file.path)} could not be decoded ({type(err).__name__}: {err})"[:300], True
