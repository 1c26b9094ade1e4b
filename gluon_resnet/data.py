"""Fashion-MNIST and your own image folders: read, verify, and iterate in batches.

The four original gzip IDX files from Zalando Research are read straight into numpy
arrays (:func:`read_fashion_mnist`); :func:`load_data_fashion_mnist` wraps them in
re-iterable batch iterators (:class:`ImageArrayIter`) that keep the whole set in memory
and normalise, augment and resize whole batches on the training context, the way d2l's
``load_data_fashion_mnist`` is used. :func:`load_data_image_folder` does the same for
``ROOT/CLASS/*.png`` folders of your own images (:class:`ImageFolderIter`).
"""
import gzip
import hashlib
import math
import os
import struct
import tempfile
import urllib.error
import urllib.request

import numpy as np

__all__ = [
    "CLASS_NAMES", "FILES", "BASE_URL", "FASHION_MNIST_MEAN", "FASHION_MNIST_STD",
    "DatasetNotFoundError", "read_fashion_mnist", "load_data_fashion_mnist",
    "ImageArrayIter", "get_fashion_mnist_labels", "show_images",
    "IMAGENET_MEAN", "IMAGENET_STD", "ImageFolder", "load_image_folder", "ImageFolderIter",
    "load_data_image_folder",
]

#: Class names in label order, as d2l's ``get_fashion_mnist_labels``.
CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")

#: The official download location (zalandoresearch/fashion-mnist README).
BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

#: ``(md5, sha256)`` of each original file; SHA-256 is what is checked.
FILES = {
    "train-images-idx3-ubyte.gz": (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "train-labels-idx1-ubyte.gz": (
        "25c81989df183df01b3e8a0aad5dffbe",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "t10k-images-idx3-ubyte.gz": (
        "bef4ecab320f06d8554ea6380940ec79",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "t10k-labels-idx1-ubyte.gz": (
        "bb300cfdad3c16e7a12a480ee83cd310",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
}

_SPLITS = {
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801
_MAX_RESIZE = 1024

#: Mean and standard deviation of the 60,000 training pixels scaled to [0, 1].
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is missing locally and could not be downloaded."""


def _resolve_root(root):
    """Return the data directory: ``root``, else ``$FASHION_MNIST_DIR``, else the default."""
    if root is None:
        root = os.environ.get("FASHION_MNIST_DIR") or os.path.join(
            "~", ".mxnet", "datasets", "fashion-mnist")
    return os.path.abspath(os.path.expanduser(os.fspath(root)))


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _checksum_error(name, where, expected, found):
    return ValueError(
        "%s (%s) is corrupt or incomplete: SHA-256 expected %s, found %s; "
        "delete it and download it again" % (name, where, expected, found))


def _not_found(root, name, reason):
    return DatasetNotFoundError(
        "Fashion-MNIST file %r is not in %s and could not be downloaded from %s (%s). "
        "Put the four files %s there, or set FASHION_MNIST_DIR (or pass root=) to a "
        "directory that holds them."
        % (name, root, BASE_URL + name, reason, ", ".join(FILES)))


def _download(root, name, progress):
    """Download ``name`` into ``root`` via a temporary file; verify, then rename.

    Raises
    ------
    DatasetNotFoundError
        If the file cannot be fetched (no network, HTTP error).
    ValueError
        If the fetched bytes do not have the expected SHA-256; nothing is left behind.
    """
    url = BASE_URL + name
    expected = FILES[name][1]
    try:
        response = urllib.request.urlopen(url, timeout=30)
    except (urllib.error.URLError, OSError) as err:
        raise _not_found(root, name, err) from err
    os.makedirs(root, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix="." + name + ".", suffix=".part")
    bar = None
    try:
        total = int(response.headers.get("Content-Length") or 0) or None
        if progress is True:
            from tqdm import tqdm
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=name)
        digest, done = hashlib.sha256(), 0
        with response, os.fdopen(fd, "wb") as f:
            while True:
                try:
                    chunk = response.read(1 << 16)
                except OSError as err:
                    raise _not_found(root, name, err) from err
                if not chunk:
                    break
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                elif callable(progress):
                    progress(done, total)
        found = digest.hexdigest()
        if found != expected:
            raise _checksum_error(name, "downloaded from " + url, expected, found)
        os.replace(tmp, os.path.join(root, name))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    finally:
        if bar is not None:
            bar.close()


def _read_verified(root, name, download, progress):
    """Return the bytes of ``root/name``, downloading it if missing; check SHA-256."""
    path = os.path.join(root, name)
    if not os.path.isfile(path):
        if not download:
            raise _not_found(root, name, "download=False")
        _download(root, name, progress)
    with open(path, "rb") as f:
        data = f.read()
    found = _sha256(data)
    if found != FILES[name][1]:
        raise _checksum_error(name, path, FILES[name][1], found)
    return data


def _parse_idx(raw, magic, ndim, name):
    """Decode uncompressed IDX bytes into a uint8 array, checking header and length.

    Parameters
    ----------
    raw : bytes
        The decompressed file content.
    magic : int
        Expected magic number (0x803 for images, 0x801 for labels).
    ndim : int
        Expected number of dimensions (3 for images, 1 for labels).
    name : str
        File name, used in error messages.
    """
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError("%s: expected an IDX header of %d bytes, found only %d bytes"
                         % (name, header, len(raw)))
    (found_magic,) = struct.unpack(">I", raw[:4])
    if found_magic != magic:
        raise ValueError("%s: expected IDX magic 0x%08x, found 0x%08x"
                         % (name, magic, found_magic))
    dims = struct.unpack(">%dI" % ndim, raw[4:header])
    if ndim == 3 and dims[1:] != (28, 28):
        raise ValueError("%s: expected 28x28 images, found %dx%d" % (name, *dims[1:]))
    payload = int(np.prod(dims))
    if len(raw) - header != payload:
        raise ValueError("%s: header says %s = %d bytes of data, found %d bytes"
                         % (name, "x".join(map(str, dims)), payload, len(raw) - header))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_fashion_mnist(root=None, train=True, progress=None, download=True):
    """Read one split of Fashion-MNIST into numpy arrays.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Directory holding the four gzip IDX files. Defaults to ``$FASHION_MNIST_DIR``,
        else ``~/.mxnet/datasets/fashion-mnist``.
    train : bool, default True
        The 60,000 training images if True, else the 10,000 test images.
    progress : None, bool or callable, optional
        How to report a download: None or False is quiet, True shows a tqdm bar on
        stderr, a callable is called as ``progress(bytes_done, bytes_total_or_None)``
        after every chunk.
    download : bool, default True
        Download missing files from :data:`BASE_URL`. Files are written to a temporary
        name, checked against their SHA-256, and only then renamed into place.

    Returns
    -------
    images : numpy.ndarray
        uint8 array of shape (N, 28, 28), pixel values 0-255.
    labels : numpy.ndarray
        uint8 array of shape (N,), class indices 0-9 (see :data:`CLASS_NAMES`).

    Raises
    ------
    DatasetNotFoundError
        If a file is missing and cannot be downloaded; the message names the directory
        and the files to put there.
    ValueError
        If a file's SHA-256 does not match, or its content is not a valid IDX file of
        the expected shape; the message names the file and what was expected and found.
    """
    root = _resolve_root(root)
    arrays = []
    for name, magic, ndim in zip(_SPLITS[bool(train)], (_IMAGES_MAGIC, _LABELS_MAGIC), (3, 1)):
        data = _read_verified(root, name, download, progress)
        try:
            raw = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise ValueError("%s: not a valid gzip file (%s)" % (name, err)) from err
        arrays.append(_parse_idx(raw, magic, ndim, name))
    images, labels = arrays
    if len(images) != len(labels):
        raise ValueError("%s has %d images but %s has %d labels"
                         % (_SPLITS[bool(train)][0], len(images),
                            _SPLITS[bool(train)][1], len(labels)))
    return images, labels


def _check_int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError("%s must be an int, got %r (%s)" % (name, value, type(value).__name__))
    if value < low or (high is not None and value > high):
        bounds = ">= %d" % low if high is None else "between %d and %d" % (low, high)
        raise ValueError("%s must be %s, got %d" % (name, bounds, value))
    return int(value)


def _stratified_first(labels, n):
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
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.pad = _check_int("pad", pad, 0)
        self.resize = None if resize is None else _check_int("resize", resize, 1, _MAX_RESIZE)
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
        :func:`gluon_resnet.distributed.shard_indices` picks (a permutation seeded by
        ``seed``, cut into parts; ``equal=True``, for training, gives every part
        ``N // num_parts`` examples, so that every worker makes the same number of
        steps). Its random state (shuffling, augmentation) starts as a copy of this
        iterator's, so all parts draw alike and a checkpoint's random state fits every
        worker.
        """
        import copy

        from .distributed import shard_indices
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

        from .arrays import as_current, legacy_mode
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


def load_data_fashion_mnist(batch_size, resize=None, root=None, ctx=None, augment=False,
                            shuffle=True, seed=None, num_train=None, num_test=None,
                            mean=None, std=None, pad=4, last_batch="keep", progress=None):
    """Fashion-MNIST as d2l's ``(train_iter, test_iter)``, held in memory.

    Parameters
    ----------
    batch_size : int
        Examples per batch. The last, smaller batch is kept (as in d2l) unless
        ``last_batch='discard'``.
    resize : int, optional
        Resize images to ``resize`` x ``resize`` (1 to 1024), bilinear.
    root : str, optional
        Data directory; see :func:`read_fashion_mnist`.
    ctx : mxnet.Context, optional
        Where batches are built and returned; default ``mx.cpu()``.
    augment : bool, default False
        Random crop of ``pad``-zero-padded images plus random horizontal flip, per
        image; training iterator only.
    shuffle : bool, default True
        Reshuffle the training set every pass; the test set is never shuffled.
    seed : int, optional
        Seed of the training iterator's RandomState (shuffle and augmentation).
    num_train, num_test : int, optional
        Use a class-stratified subset of this size: the first examples of each class
        in file order, round-robin over classes (so 100 gives 10 per class).
    mean, std : float, optional
        Normalise as ``(x / 255 - mean) / std``; default is ``x / 255`` in [0, 1], as
        d2l's ``ToTensor``. :data:`FASHION_MNIST_MEAN` and :data:`FASHION_MNIST_STD`
        are the training-set values.
    pad : int, default 4
        Padding of the random crop.
    last_batch : {'keep', 'discard'}, default 'keep'
        Applies to the training iterator; the test iterator always keeps every example.
    progress : None, bool or callable
        Download progress; see :func:`read_fashion_mnist`.

    Returns
    -------
    train_iter, test_iter : ImageArrayIter
        Re-iterable; each yields ``(X, y)``: X float32 (B, 1, H, W), y int32 (B,),
        both on ``ctx``. ``len(it)`` is the number of batches.

    Raises
    ------
    ValueError
        For bad arguments (checked before any file is read) or corrupt files.
    DatasetNotFoundError
        If the files are missing and cannot be downloaded.
    """
    _check_int("batch_size", batch_size, 1)
    if resize is not None:
        _check_int("resize", resize, 1, _MAX_RESIZE)
    for name, value, available in (("num_train", num_train, 60000),
                                   ("num_test", num_test, 10000)):
        if value is not None:
            _check_int(name, value, 1, available)
    common = dict(resize=resize, mean=mean, std=std, ctx=ctx)
    iters = []
    for train, n in ((True, num_train), (False, num_test)):
        images, labels = read_fashion_mnist(root, train=train, progress=progress)
        if n is not None:
            keep = _stratified_first(labels, n)
            images, labels = images[keep], labels[keep]
        if train:
            it = ImageArrayIter(images, labels, batch_size, shuffle=shuffle, augment=augment,
                                pad=pad, seed=seed, last_batch=last_batch, **common)
        else:
            it = ImageArrayIter(images, labels, batch_size, **common)
        iters.append(it)
    return tuple(iters)


def get_fashion_mnist_labels(labels):
    """Return the class names of numeric labels.

    Parameters
    ----------
    labels : iterable of int, numpy.ndarray or NDArray
        Class indices 0-9.

    Returns
    -------
    list of str
    """
    if hasattr(labels, "asnumpy"):
        labels = labels.asnumpy()
    out = []
    for label in np.asarray(labels).reshape(-1):
        i = int(label)
        if i != label or not 0 <= i < len(CLASS_NAMES):
            raise ValueError("labels must be integers 0-%d, got %r" % (len(CLASS_NAMES) - 1, label))
        out.append(CLASS_NAMES[i])
    return out


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """Plot images in a grid (as d2l's ``show_images``); does not call ``plt.show()``.

    Parameters
    ----------
    imgs : sequence of array-like
        Images as numpy arrays or NDArrays, each (H, W), (1, H, W), (H, W, C) or
        (C, H, W) with C in {1, 3}.
    num_rows, num_cols : int
        Grid size; at most ``num_rows * num_cols`` images.
    titles : sequence of str, optional
        One title per image.
    scale : float, default 1.5
        Inches per grid cell.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The flattened axes.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("show_images needs matplotlib: pip install matplotlib") from err
    num_rows = _check_int("num_rows", num_rows, 1)
    num_cols = _check_int("num_cols", num_cols, 1)
    imgs = list(imgs)
    if len(imgs) > num_rows * num_cols:
        raise ValueError("%d images do not fit a %dx%d grid" % (len(imgs), num_rows, num_cols))
    if titles is not None and len(titles) != len(imgs):
        raise ValueError("expected one title per image (%d), got %d" % (len(imgs), len(titles)))
    _, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale),
                           squeeze=False)
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        img = img.asnumpy() if hasattr(img, "asnumpy") else np.asarray(img)
        if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
            img = img.transpose(1, 2, 0)
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles is not None:
            ax.set_title(titles[i])
    return axes


# --- Image folders: ROOT/CLASS/*.png, your own images ----------------------------------

#: Per-channel RGB mean and standard deviation of ImageNet (in [0, 1]), what the
#: published ImageNet weights were trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageFolder:
    """Images of ``ROOT/CLASS/*.png`` held in memory (what :func:`load_image_folder` returns).

    Attributes
    ----------
    images : numpy.ndarray
        uint8, (N, H, W) for ``channels=1`` or (N, H, W, 3).
    labels : numpy.ndarray
        int32 (N,), indices into ``class_names``.
    class_names : list of str
        The sorted class-folder names.
    paths : list of str
        The file of each image.
    """

    def __init__(self, images, labels, class_names, paths):
        self.images, self.labels = images, labels
        self.class_names, self.paths = list(class_names), list(paths)

    @property
    def channels(self):
        return 1 if self.images.ndim == 3 else self.images.shape[-1]

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        return "ImageFolder(%d images of %s, %d classes: %s)" % (
            len(self), "x".join(map(str, self.images.shape[1:])), len(self.class_names),
            ", ".join(self.class_names))


def _read_files(files, class_names, channels, size):
    """Read ``{class: [paths]}`` into an :class:`ImageFolder`; ``channels=None`` infers."""
    from .images import image_channels, load_image
    paths, labels = [], []
    for label, cls in enumerate(class_names):
        paths += files.get(cls, [])
        labels += [label] * len(files.get(cls, []))
    if channels is None:
        channels = 1 if all(image_channels(p) == 1 for p in paths) else 3
    images = [load_image(p, channels, size=size) for p in paths]
    shapes = {}
    for path, img in zip(paths, images):
        shapes.setdefault(img.shape[:2], path)
    if len(shapes) > 1:
        (s1, p1), (s2, p2) = list(shapes.items())[:2]
        raise ValueError("the images differ in size (%s is %dx%d, %s is %dx%d, and %d sizes in "
                         "all); pass size= (--resize) to bring them to one size"
                         % (p1, s1[1], s1[0], p2, s2[1], s2[0], len(shapes)))
    shape = next(iter(shapes), (0, 0)) + (() if channels == 1 else (3,))
    array = np.stack(images) if images else np.zeros((0,) + shape, np.uint8)
    return ImageFolder(array, np.asarray(labels, dtype=np.int32), class_names, paths)


def load_image_folder(root, channels=None, size=None, class_names=None):
    """Read every image of ``root/CLASS/*.png`` (and .jpg/.jpeg) into memory.

    Parameters
    ----------
    root : str
        One folder per class, at least 2; class ``i`` is the ``i``-th folder name in
        sorted order. Files are read with :func:`gluon_resnet.images.load_image`.
    channels : {None, 1, 3}
        1 for grayscale, 3 for RGB; None picks 1 if every image is grayscale, else 3.
    size : int or (int, int), optional
        Resize every image to ``size`` x ``size`` (or (height, width)), bilinear, as it
        is read. Without it all images must have the same size.
    class_names : list of str, optional
        The classes, in label order, e.g. a training folder's for its validation
        folder; every class folder of ``root`` must be one of them.

    Returns
    -------
    ImageFolder

    Raises
    ------
    ValueError
        Fewer than 2 classes, a class without images, a non-image file or unreadable
        image (named), images of different sizes without ``size``, or classes that are
        not in ``class_names``.
    """
    from .images import scan_class_folders
    classes, files, bad = scan_class_folders(root)
    if bad:
        raise ValueError("%s holds %d file(s) that are not PNG/JPEG images: %s; remove them"
                         % (root, len(bad), ", ".join(p for p, _ in bad[:5])))
    empty = [c for c in classes if not files[c]]
    if empty and class_names is None:
        raise ValueError("class folder(s) without images in %s: %s" % (root, ", ".join(empty)))
    if class_names is not None:
        unknown = [c for c in classes if c not in class_names]
        if unknown:
            raise ValueError("%s has classes the model does not know: %s (known: %s)"
                             % (root, ", ".join(unknown), ", ".join(class_names)))
        classes = list(class_names)
    return _read_files(files, classes, channels, size)


def _per_channel(value, channels, name):
    if value is None:
        return None
    values = [float(v) for v in np.atleast_1d(value)]
    if len(values) == 1:
        values *= channels
    if len(values) != channels:
        raise ValueError("%s needs 1 or %d values for %d-channel images, got %r"
                         % (name, channels, channels, value))
    return values


class ImageFolderIter(ImageArrayIter):
    """:class:`ImageArrayIter` for photos: random resized crops and per-channel normalisation.

    Batches are built as in :class:`ImageArrayIter`, but ``augment=True`` means, per
    image, a random crop of ``scale`` of the area (uniform) and aspect ratio in
    ``ratio`` (log-uniform), resized to the output size, and a horizontal flip with
    probability 0.5 (torchvision's ``RandomResizedCrop`` + ``RandomHorizontalFlip``,
    done for the whole batch on ``ctx`` with ``GridGenerator`` and ``BilinearSampler``).
    Nothing depends on colour, so it suits grayscale and RGB alike.

    Parameters
    ----------
    images, labels, batch_size, shuffle, resize, ctx, seed, last_batch
        As :class:`ImageArrayIter`. The output size is ``resize`` x ``resize``, else
        the images' own size.
    augment : bool, default False
    scale : (float, float), default (0.25, 1.0)
        Range of the crop's share of the image area.
    ratio : (float, float), default (3/4, 4/3)
        Range of the crop's width / height.
    mean, std : float or sequence of float, optional
        Per channel (or one for all): ``(x / 255 - mean) / std``.
    """

    def __init__(self, images, labels, batch_size, shuffle=False, augment=False, resize=None,
                 mean=None, std=None, ctx=None, seed=None, last_batch="keep",
                 scale=(0.25, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0)):
        import mxnet as mx
        super().__init__(images, labels, batch_size, shuffle=shuffle, augment=False, pad=0,
                         resize=resize, ctx=ctx, seed=seed, last_batch=last_batch)
        self.augment = bool(augment)
        if not (0 < scale[0] <= scale[1] <= 1):
            raise ValueError("scale must satisfy 0 < min <= max <= 1, got %r" % (scale,))
        if not (0 < ratio[0] <= ratio[1]):
            raise ValueError("ratio must satisfy 0 < min <= max, got %r" % (ratio,))
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        c = self._images.shape[1]
        if (mean is None) != (std is None):
            raise ValueError("pass both mean and std or neither, got mean=%r, std=%r"
                             % (mean, std))
        mean = _per_channel(mean, c, "mean") or [0.0] * c
        std = _per_channel(std, c, "std") or [1.0] * c
        if min(std) <= 0:
            raise ValueError("std must be positive, got %r" % (std,))
        self.mean, self.std = mean, std
        self._mul = mx.nd.array([1.0 / (255.0 * s) for s in std], ctx=self.ctx).reshape((1, c, 1, 1))
        self._add = mx.nd.array([-m / s for m, s in zip(mean, std)], ctx=self.ctx).reshape((1, c, 1, 1))

    def _transform(self, X):
        import mxnet as mx
        X = X.astype(np.float32)
        _, _, h, w = X.shape
        out_h, out_w = (self.resize, self.resize) if self.resize else (h, w)
        if self.augment:
            X = self._resized_crop_flip(X, out_h, out_w)
        elif (out_h, out_w) != (h, w):
            X = mx.nd.contrib.BilinearResize2D(X, height=out_h, width=out_w,
                                               align_corners=False)
        return mx.nd.broadcast_add(mx.nd.broadcast_mul(X, self._mul), self._add)

    def _crop_params(self, b):
        """Per image: crop width and height as shares of the image, centre in [-1, 1], flip."""
        area = self._rng.uniform(self.scale[0], self.scale[1], size=b)
        log_r = self._rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]), size=b)
        aspect = np.exp(log_r)
        fw = np.minimum(np.sqrt(area * aspect), 1.0)
        fh = np.minimum(np.sqrt(area / aspect), 1.0)
        cx = self._rng.uniform(-1.0, 1.0, size=b) * (1.0 - fw)
        cy = self._rng.uniform(-1.0, 1.0, size=b) * (1.0 - fh)
        flip = self._rng.rand(b) < 0.5
        return fw, fh, cx, cy, flip

    def _resized_crop_flip(self, X, out_h, out_w):
        import mxnet as mx
        b = X.shape[0]
        fw, fh, cx, cy, flip = self._crop_params(b)
        # Source = affine(target) in normalised [-1, 1] coordinates: x_s = a x_t + t.
        zeros = np.zeros(b)
        theta = np.stack([np.where(flip, -fw, fw), zeros, cx, zeros, fh, cy], axis=1)
        grid = mx.nd.GridGenerator(mx.nd.array(theta, ctx=self.ctx), transform_type="affine",
                                   target_shape=(out_h, out_w))
        return mx.nd.BilinearSampler(X, grid)


def _has_split(root):
    return all(os.path.isdir(os.path.join(root, part)) for part in ("train", "val"))


def load_data_image_folder(root, batch_size, channels=None, size=None, resize=None,
                           augment=False, val_ratio=0.2, split_seed=0, shuffle=True, seed=None,
                           mean=None, std=None, ctx=None, last_batch="keep"):
    """Your own images as ``(train_iter, val_iter, class_names)``, held in memory.

    Parameters
    ----------
    root : str
        Either a folder with ``train/`` and ``val/``, each holding one folder per class
        (what ``gluon-resnet split-data`` writes), or a folder of class folders, which
        is split here exactly as ``split-data`` with ``val_ratio`` and ``split_seed``
        would split it (stratified; :func:`gluon_resnet.images.split_files`).
    batch_size : int
    channels : {None, 1, 3}
        See :func:`load_image_folder`.
    size : int, optional
        Resize the images as they are read (Pillow, antialiased); needed when their
        sizes differ.
    resize : int, optional
        Then resize batches to ``resize`` x ``resize`` on ``ctx`` (after augmentation).
    augment : bool, default False
        Random resized crops and flips of training images (:class:`ImageFolderIter`).
    val_ratio, split_seed
        For a folder without ``train/`` and ``val/``.
    shuffle, seed, mean, std, ctx, last_batch
        As :class:`ImageFolderIter`; ``seed`` is the training iterator's.

    Returns
    -------
    train_iter, val_iter : ImageFolderIter
    class_names : list of str
    """
    from .images import scan_class_folders, split_files
    _check_int("batch_size", batch_size, 1)
    root = os.fspath(root)
    if _has_split(root):
        train = load_image_folder(os.path.join(root, "train"), channels, size)
        val = load_image_folder(os.path.join(root, "val"), train.channels, size,
                                class_names=train.class_names)
        if train.images.shape[1:] != val.images.shape[1:]:
            raise ValueError("train images are %s but val images are %s; pass size= (--resize)"
                             % (train.images.shape[1:], val.images.shape[1:]))
    else:
        classes, files, bad = scan_class_folders(root)
        if bad:
            raise ValueError("%s holds %d file(s) that are not PNG/JPEG images: %s; remove them"
                             % (root, len(bad), ", ".join(p for p, _ in bad[:5])))
        empty = [c for c in classes if not files[c]]
        if empty:
            raise ValueError("class folder(s) without images in %s: %s"
                             % (root, ", ".join(empty)))
        splits = split_files(files, val_ratio, split_seed)
        train = _read_files({c: s[0] for c, s in splits.items()}, classes, channels, size)
        val = _read_files({c: s[1] for c, s in splits.items()}, classes, train.channels, size)
    common = dict(resize=resize, mean=mean, std=std, ctx=ctx)
    train_iter = ImageFolderIter(train.images, train.labels, batch_size, shuffle=shuffle,
                                 augment=augment, seed=seed, last_batch=last_batch, **common)
    val_iter = ImageFolderIter(val.images, val.labels, batch_size, **common)
    return train_iter, val_iter, train.class_names
