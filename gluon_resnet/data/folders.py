"""Your own images: ``ROOT/CLASS/*.png`` folders read into memory
(:func:`load_image_folder`) and iterated in batches (:func:`load_data_image_folder`,
:class:`ImageFolderIter`), with ImageNet's normalisation for published weights.
"""
import os

import numpy as np

from .iterators import ImageArrayIter, check_int as _check_int

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageFolder", "load_image_folder",
           "ImageFolderIter", "load_data_image_folder"]


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
        sorted order. Files are read with :func:`gluon_resnet.data.images.load_image`.
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
        would split it (stratified; :func:`gluon_resnet.data.images.split_files`).
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
