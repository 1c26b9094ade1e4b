"""Fashion-MNIST: the four original gzip IDX files from Zalando Research, downloaded
(and checksummed) when missing, read straight into numpy arrays
(:func:`read_fashion_mnist`), and wrapped in re-iterable batch iterators
(:func:`load_data_fashion_mnist`, as d2l's is used); d2l's label names and image grid.
"""
import gzip
import hashlib
import os
import struct
import tempfile
import urllib.error
import urllib.request

import numpy as np

from .iterators import ImageArrayIter, _MAX_RESIZE, check_int as _check_int, stratified_first

__all__ = ["CLASS_NAMES", "FILES", "BASE_URL", "FASHION_MNIST_MEAN", "FASHION_MNIST_STD",
           "DatasetNotFoundError", "read_fashion_mnist", "load_data_fashion_mnist",
           "get_fashion_mnist_labels", "show_images"]


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
            keep = stratified_first(labels, n)
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
