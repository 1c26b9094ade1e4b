"""Re-iterable batch iterators over in-memory images (:class:`ImageArrayIter`): whole
batches normalised, augmented and resized on the training context; shards for
distributed training (:func:`shard_indices`).
"""
import math

import numpy as np

__all__ = ["ImageArrayIter", "shard_indices"]


_MAX_RESIZE = 1024


def check_int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError("%s must be an int, got %r (%s)" % (name, value, type(value).__name__))
    if value < low or (high is not None and value > high):
        bounds = ">= %d" % low if high is None else "between %d and %d" % (low, high)
        raise ValueError("%s must be %s, got %d" % (name, bounds, value))
    return int(value)


def stratified_first(labels, n):
    """Indices of the first ``n`` examples taken round-robin over classes, in file order.

    Example ``i`` is ranked by how many earlier examples share its class; the ``n``
    lowest ranks (ties by position) are kept, so classes are balanced as far as ``n``
    allows. Deterministic; returned in file order.
    """
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels)) - starts
    keep = np.lexsort((np.arange(len(labels)), rank))[:n]
    return np.sort(keep)


class ImageArrayIter:
    """Re-iterable batches over an in-memory uint8 image array.

    Each pass (``for X, y in it``) yields ``X``, a float32 array of shape
    (B, C, H, W) on ``ctx``, and ``y``, an int32 array of shape (B,) on ``ctx``: an
    ``mx.np.ndarray`` when numpy mode is on as the batch is made (``npx.set_np()``),
    else an ``mx.nd.NDArray``.
    Batches are sliced from the arrays on the host, copied to ``ctx`` as uint8, and
    then augmented, normalised and resized as whole batches on ``ctx``, in that order.

    Parameters
    ----------
    images : numpy.ndarray
        uint8 array (N, H, W) for grayscale or (N, H, W, C).
    labels : numpy.ndarray
        Integer array (N,).
    batch_size : int
        Examples per batch.
    shuffle : bool, default False
        Draw a fresh permutation at the start of every pass.
    augment : bool, default False
        Per image: zero-pad by ``pad`` pixels on each side and crop back to (H, W) at a
        random offset, then flip horizontally with probability 0.5. Done at the
        original resolution, before ``resize``.
    pad : int, default 4
        Padding of the random crop; 0 leaves only the flips.
    resize : int, optional
        Resize batches to ``resize`` x ``resize`` with bilinear interpolation
        (``BilinearResize2D`` with ``align_corners=False``, the same sampling as
        ``gluon.data.vision.transforms.Resize``).
    mean, std : float, optional
        Pixels are first scaled to [0, 1] (as ``ToTensor``); if given, they are then
        mapped to ``(x - mean) / std``. Padding pixels are 0 before this mapping.
    ctx : mxnet.Context, optional
        Where batches live; default ``mx.cpu()``.
    seed : int, optional
        Seeds the iterator's own ``numpy.random.RandomState``, used for shuffling and
        augmentation; two iterators with the same seed yield the same batches.
    last_batch : {'keep', 'discard'}, default 'keep'
        Keep the last, smaller batch (as d2l does) or drop it.
    """

    def __init__(self, images, labels, batch_size, shuffle=False, augment=False, pad=4,
                 resize=None, mean=None, std=None, ctx=None, seed=None, last_batch="keep"):
        import mxnet as mx
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError("images must be a uint8 array of shape (N, H, W) or "
                             "(N, H, W, C), got %s array of shape %s"
                             % (images.dtype, images.shape))
        if labels.shape != images.shape[:1]:
            raise ValueError("labels must have shape (%d,) to match the images, got %s"
                             % (len(images), labels.shape))
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.pad = check_int("pad", pad, 0)
        self.resize = None if resize is None else check_int("resize", resize, 1, _MAX_RESIZE)
        if last_batch not in ("keep", "discard"):
            raise ValueError("last_batch must be 'keep' or 'discard', got %r" % (last_batch,))
        if (mean is None) != (std is None):
            raise ValueError("pass both mean and std or neither, got mean=%r, std=%r"
                             % (mean, std))
        if std is not None and not std > 0:
            raise ValueError("std must be positive, got %r" % (std,))
        if ctx is None:
            ctx = mx.cpu()
        if not isinstance(ctx, mx.Context):
            raise ValueError("ctx must be an mxnet.Context, got %r" % (ctx,))
        if images.ndim == 3:
            images = images[:, None]
        else:
            images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
        self._images = images
        self._labels = labels.astype(np.int32)
        self.shuffle, self.augment, self.ctx = bool(shuffle), bool(augment), ctx
        self.last_batch = last_batch
        # x / 255 then (x - mean) / std, as one multiply-add.
        mean = 0.0 if mean is None else float(mean)
        std = 1.0 if std is None else float(std)
        self._scale, self._shift = 1.0 / (255.0 * std), -mean / std
        self._rng = np.random.RandomState(seed)
        _, c, h, w = images.shape
        if self.augment and self.batch_size * c * (h + 2 * self.pad) * (w + 2 * self.pad) >= 2 ** 31:
            raise ValueError("batch_size %d is too large to augment %dx%dx%d images"
                             % (self.batch_size, c, h, w))

    @property
    def num_examples(self):
        """Number of examples one pass yields."""
        n = len(self._labels)
        return n if self.last_batch == "keep" else n - n % self.batch_size

    def __len__(self):
        return math.ceil(self.num_examples / self.batch_size)

    def shard(self, num_parts, index, seed=0, equal=True):
        """Part ``index`` of ``num_parts`` disjoint parts of this iterator's examples.

        A new iterator with the same settings over the examples
        :func:`shard_indices` picks (a permutation seeded by
        ``seed``, cut into parts; ``equal=True``, for training, gives every part
        ``N // num_parts`` examples, so that every worker makes the same number of
        steps). Its random state (shuffling, augmentation) starts as a copy of this
        iterator's, so all parts draw alike and a checkpoint's random state fits every
        worker.
        """
        import copy

        idx = shard_indices(len(self._labels), num_parts, index, seed, equal)
        part = copy.copy(self)
        part._images, part._labels = self._images[idx], self._labels[idx]
        part._rng = np.random.RandomState()
        part._rng.set_state(self._rng.get_state())
        return part

    def rng_state(self):
        """The state of the iterator's RandomState (shuffling, augmentation), for checkpoints."""
        return self._rng.get_state()

    def set_rng_state(self, state):
        """Restore a state returned by :meth:`rng_state`, so the next passes repeat."""
        self._rng.set_state(state)

    def __iter__(self):
        import mxnet as mx

        from ..arrays import as_current, legacy_mode
        n = self.num_examples
        order = self._rng.permutation(len(self._labels)) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                sel = slice(start, start + self.batch_size)
            else:
                sel = order[start:start + self.batch_size]
            # Built with legacy operators; handed out in the interface that is on.
            with legacy_mode():
                X = mx.nd.array(self._images[sel], ctx=self.ctx, dtype=np.uint8)
                y = mx.nd.array(self._labels[sel], ctx=self.ctx, dtype=np.int32)
                X = self._transform(X)
            yield as_current(X), as_current(y)

    def _transform(self, X):
        import mxnet as mx
        X = X.astype(np.float32)
        if self.augment:
            X = self._crop_flip(X)
        X = X * self._scale
        if self._shift:
            X = X + self._shift
        if self.resize is not None:
            X = mx.nd.contrib.BilinearResize2D(X, height=self.resize, width=self.resize,
                                               align_corners=False)
        return X

    def _crop_flip(self, X):
        """Random crop after zero padding, and random horizontal flip, as one gather.

        The whole batch is padded once; the flat index of every output pixel is
        built on ``ctx`` from per-image offsets and flips, and one ``take`` gathers.
        """
        import mxnet as mx
        b, c, h, w = X.shape
        p = self.pad
        hp, wp = h + 2 * p, w + 2 * p
        oy = self._rng.randint(0, 2 * p + 1, size=b)
        ox = self._rng.randint(0, 2 * p + 1, size=b)
        flip = self._rng.rand(b) < 0.5
        if p:
            X = mx.nd.pad(X, mode="constant", constant_value=0,
                          pad_width=(0, 0, 0, 0, p, p, p, p))
        ctx, i32 = self.ctx, np.int32
        # base[i] = offset of image i's crop origin in the flattened padded batch
        base = np.arange(b) * (c * hp * wp) + oy * wp + ox
        # column step: +1, or -1 starting from the right edge when flipped
        col0 = np.where(flip, w - 1, 0)
        step = np.where(flip, -1, 1)
        per_image = mx.nd.array(np.stack([base + col0, step], axis=1), ctx=ctx, dtype=i32)
        chan = mx.nd.arange(c, ctx=ctx, dtype=i32).reshape((1, c, 1, 1)) * (hp * wp)
        rows = mx.nd.arange(h, ctx=ctx, dtype=i32).reshape((1, 1, h, 1)) * wp
        cols = mx.nd.arange(w, ctx=ctx, dtype=i32).reshape((1, 1, 1, w))
        start = per_image[:, 0].reshape((b, 1, 1, 1))
        sign = per_image[:, 1].reshape((b, 1, 1, 1))
        index = mx.nd.broadcast_add(mx.nd.broadcast_add(start, chan),
                                    mx.nd.broadcast_add(rows, mx.nd.broadcast_mul(sign, cols)))
        return mx.nd.take(X.reshape((-1,)), index.reshape((-1,))).reshape((b, c, h, w))


def shard_indices(n, num_parts, index, seed=0, equal=True):
    """Indices of part ``index`` of ``num_parts`` disjoint parts of ``range(n)``.

    A permutation of ``range(n)`` drawn from ``seed`` (the same on every worker) is cut
    into ``num_parts`` consecutive parts. ``equal=True`` gives every part
    ``n // num_parts`` indices (the last ``n % num_parts`` of the permutation are
    left out), as training needs; ``equal=False`` keeps every index (parts differ by at
    most one), as evaluation needs.
    """
    for name, value, low in (("n", n, 0), ("num_parts", num_parts, 1), ("index", index, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError("%s must be an integer >= %d, got %r" % (name, low, value))
    if index >= num_parts:
        raise ValueError("index must be < num_parts (%d), got %d" % (num_parts, index))
    if equal and n < num_parts:
        raise ValueError("%d examples cannot be cut into %d non-empty equal parts"
                         % (n, num_parts))
    order = np.random.RandomState(seed).permutation(n)
    if equal:
        size = n // num_parts
        return np.sort(order[index * size:(index + 1) * size])
    return np.sort(np.array_split(order, num_parts)[index])
