"""The training data's shuffle order, made resumable: epoch k of a resumed run sees the order
epoch k of the uninterrupted run saw.

`Dataset.shuffle(seed=..., reshuffle_each_iteration=True)` draws a new order each time an
iterator over it is made, from a seeded generator. Keras makes more iterators than it reads (one
ahead at each epoch's end, depending on whether the data's length is known), so counting epochs
would not say how far the generator went. `counted` wraps the data so that only an iterator that
is actually read reaches the shuffle (a one-element `flat_map`: the inner iterator is made on the
first read): the generator then advances exactly once per epoch, and a resumed run catches up
by making, without reading, one iterator per epoch already trained.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def counted(train_ds: Any, *, epochs_done: int = 0) -> Any:
    """`train_ds` for `fit`, its shuffle advanced past `epochs_done` epochs of this stage."""

    for _ in range(epochs_done):
        iter(train_ds)  # making an iterator draws the next order; nothing is read
    wrapped = tf.data.Dataset.range(1).flat_map(lambda _: train_ds)
    length = int(train_ds.cardinality())
    if length >= 0:  # keep the length Keras reads (streamed data has none)
        wrapped = wrapped.apply(tf.data.experimental.assert_cardinality(length))
    return wrapped
