"""Your own images: read PNG/JPEG files as the arrays a model takes, and split folders.

:func:`load_image` reads one file with Pillow into a uint8 array of 1 or 3 channels,
whatever the file holds (grayscale, RGB, RGBA, palette, 16-bit, CMYK).
:func:`list_images` lists the images of a folder, :func:`scan_class_folders` the
``ROOT/CLASS/*.png`` layout, and :func:`split_data` copies such a folder into
``train/`` and ``val/``, stratified per class and reproducible with a seed.

Conversions (one rule for every file):

* transparency (RGBA, LA, palette or grayscale/RGB with a transparent colour) is
  composited on **white**, as an image viewer shows it on a white page; the alpha
  channel itself is dropped afterwards;
* 16-bit samples are scaled to 8 bits by ``round(v / 257)`` (65535 -> 255);
* CMYK (and YCbCr) JPEGs are converted to RGB by Pillow;
* ``channels=1`` uses Pillow's luma ``L = 0.299 R + 0.587 G + 0.114 B``;
  ``channels=3`` repeats a gray image into R, G and B;
* the EXIF orientation of photos is applied, so a portrait photo stays upright.
"""
import os
import random
import shutil
import tempfile
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ImageError", "IMAGE_EXTENSIONS", "load_image", "image_channels", "list_images",
           "scan_class_folders", "split_files", "split_data", "SplitReport"]

#: File name endings (compared case-insensitively) that are taken as images.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")


class ImageError(ValueError):
    """A file is not an image Pillow can decode (corrupt, truncated, another format)."""


def _pil():
    try:
        from PIL import Image, ImageOps
    except ImportError as err:  # pragma: no cover - Pillow comes with matplotlib
        raise ImportError("reading images needs Pillow: pip install Pillow") from err
    return Image, ImageOps


def _open(path):
    """Open and fully decode ``path``; every decoding failure becomes an ImageError."""
    Image, ImageOps = _pil()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError("no image file at %s" % path)
    try:
        with Image.open(path) as img:
            img.load()  # decodes now, so a truncated file fails here, not later
            img = ImageOps.exif_transpose(img) if img.getexif() else img.copy()
    except Image.DecompressionBombError as err:
        raise ImageError("%s: %s" % (path, err)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        # UnidentifiedImageError is an OSError; truncated files raise OSError.
        reason = str(err) or type(err).__name__
        raise ImageError("cannot read image %s: %s; the file is corrupt, truncated or not "
                         "a PNG/JPEG image" % (path, reason)) from None
    return img


def _to_8bit(img):
    """Scale 16-bit and 32-bit integer grayscale to 8 bits, as a mode ``L`` image."""
    Image, _ = _pil()
    if img.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(np.round(arr / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L")
    return img


def _flatten_alpha(img):
    """Composite transparency on white; returns an image without alpha (L or RGB)."""
    Image, _ = _pil()
    has_alpha = img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in img.info
    if not has_alpha:
        if img.mode == "P":
            return img.convert("RGB")
        return img
    gray = img.mode in ("LA", "La") or (img.mode == "L" and "transparency" in img.info)
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    out = Image.alpha_composite(white, rgba)
    return out.convert("L") if gray else out.convert("RGB")


def _convert(img, channels):
    img = _flatten_alpha(_to_8bit(img))
    img = img.convert("L" if channels == 1 else "RGB")
    return np.array(img, dtype=np.uint8)


def _check_channels(channels):
    if channels not in (1, 3):
        raise ValueError("channels must be 1 (grayscale) or 3 (RGB), got %r" % (channels,))


def _resize(arr, size):
    """Resize a uint8 HxW or HxWx3 array to ``size`` = int or (height, width), bilinear."""
    Image, _ = _pil()
    h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if arr.shape[:2] == (h, w):
        return arr
    img = Image.fromarray(arr)
    # Pillow's bilinear filter widens its support when shrinking (antialiased).
    return np.asarray(img.resize((int(w), int(h)), Image.BILINEAR), dtype=np.uint8)


def load_image(path, channels, size=None):
    """Read a PNG or JPEG file as a uint8 array with the given number of channels.

    Parameters
    ----------
    path : str or os.PathLike
        The image file. Anything Pillow decodes is read; PNG and JPEG are what
        :func:`list_images` picks up.
    channels : {1, 3}
        1 returns an (H, W) grayscale array, 3 an (H, W, 3) RGB array, whatever the
        file holds (see the module docstring for the conversions).
    size : int or (int, int), optional
        Resize to ``size`` x ``size`` (or (height, width)) with Pillow's bilinear
        filter, ignoring the aspect ratio.

    Returns
    -------
    numpy.ndarray
        uint8, (H, W) or (H, W, 3).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ImageError
        If the file is corrupt, truncated or not an image; the message names it.
    """
    _check_channels(channels)
    arr = _convert(_open(path), channels)
    return arr if size is None else _resize(arr, size)


def image_channels(path):
    """1 if ``path`` holds a grayscale image (with or without alpha, any bit depth), else 3.

    Reads only the header. Raises :class:`ImageError` for a file Pillow cannot identify.
    """
    Image, _ = _pil()
    path = os.fspath(path)
    try:
        with Image.open(path) as img:
            mode = img.mode
            if mode == "P":
                palette = img.getpalette() or []
                rgb = np.asarray(palette, dtype=np.int64)[: len(palette) // 3 * 3].reshape(-1, 3)
                return 1 if len(rgb) and (rgb == rgb[:, :1]).all() else 3
    except FileNotFoundError:
        raise FileNotFoundError("no image file at %s" % path) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError("cannot read image %s: %s (expected a PNG or JPEG file)"
                         % (path, err)) from None
    return 1 if mode in _GRAY_MODES else 3


def _is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder):
    """The image files directly in ``folder``, sorted by name.

    Images are files whose names end in ``.png``, ``.jpg`` or ``.jpeg`` in any case.
    Hidden files (names starting with ``.``, such as macOS's ``._photo.jpg``) and
    sub-folders are left out.

    Returns
    -------
    list of str
        Paths ``folder/name``.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise NotADirectoryError("%s is not a folder" % folder)
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))
            if not name.startswith(".") and _is_image_name(name)
            and os.path.isfile(os.path.join(folder, name))]


def _brief(items, limit=5):
    items = list(items)
    more = " and %d more" % (len(items) - limit) if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more


def scan_class_folders(root, check=False):
    """Find the classes and image files of ``root/CLASS/*.png``.

    Parameters
    ----------
    root : str
        A folder holding one sub-folder per class; class names are the sub-folder
        names, sorted (so class ``i`` is the ``i``-th name).
    check : bool, default False
        Also decode every image, to find corrupt and truncated files.

    Returns
    -------
    classes : list of str
    files : dict
        Class name -> sorted list of image paths.
    bad : list of (str, str)
        ``(path, reason)`` for every file that is not an image (by its name, or, with
        ``check``, by its content), and for sub-folders inside class folders.

    Raises
    ------
    ValueError
        If ``root`` holds fewer than 2 class folders, or loose files instead.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise NotADirectoryError("%s is not a folder" % root)
    entries = sorted(e for e in os.listdir(root) if not e.startswith("."))
    classes = [e for e in entries if os.path.isdir(os.path.join(root, e))]
    if len(classes) < 2:
        loose = [e for e in entries if _is_image_name(e)]
        hint = (" (it holds %d images directly: put them in one folder per class)" % len(loose)
                if loose else "")
        raise ValueError("%s must hold one folder per class, at least 2; found %d (%s)%s"
                         % (root, len(classes), _brief(classes) or "none", hint))
    files, bad = {}, []
    for cls in classes:
        folder = os.path.join(root, cls)
        files[cls] = []
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.startswith("."):
                continue
            if os.path.isdir(path):
                bad.append((path, "a folder inside a class folder"))
            elif not _is_image_name(name):
                bad.append((path, "not a .png/.jpg/.jpeg file"))
            else:
                files[cls].append(path)
    if check:
        for cls in classes:
            good = []
            for path in files[cls]:
                try:
                    _open(path)
                except ImageError as err:
                    bad.append((path, str(err).split(": ", 1)[-1]))
                else:
                    good.append(path)
            files[cls] = good
    return classes, files, sorted(bad)


def _check_ratio(val_ratio):
    if isinstance(val_ratio, bool) or not isinstance(val_ratio, (int, float)) \
            or not 0 < val_ratio < 1:
        raise ValueError("val_ratio must be a number in (0, 1), got %r" % (val_ratio,))


def split_files(files, val_ratio=0.2, seed=0):
    """Split each class's files into train and val, reproducibly.

    Class ``c`` with ``n`` files gets ``round(n * val_ratio)`` validation files, but at
    least 1 and at most ``n - 1`` when ``n >= 2`` (a single file goes to train). The
    files are shuffled by a generator seeded with ``seed`` and the class name, so a
    class's split depends only on its own files and the seed.

    Parameters
    ----------
    files : dict
        Class name -> list of paths.

    Returns
    -------
    dict
        Class name -> ``(train_paths, val_paths)``, both sorted.
    """
    _check_ratio(val_ratio)
    out = {}
    for cls, paths in files.items():
        paths = sorted(paths)
        n = len(paths)
        n_val = min(max(int(round(n * val_ratio)), 1), n - 1) if n >= 2 else 0
        order = list(range(n))
        random.Random("%s:%s" % (seed, cls)).shuffle(order)
        val = {paths[i] for i in order[:n_val]}
        out[cls] = ([p for p in paths if p not in val], [p for p in paths if p in val])
    return out


@dataclass
class SplitReport:
    """What :func:`split_data` did.

    Attributes
    ----------
    dst : str
        The destination folder, holding ``train/`` and ``val/``.
    counts : dict
        Class name -> ``(train, val)`` numbers of files.
    skipped : list of (str, str)
        ``(path, reason)`` of files left out (only with ``skip_bad``).
    linked : bool
        Whether files were hard-linked rather than copied.
    """

    dst: str
    counts: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    linked: bool = False

    @property
    def classes(self):
        return list(self.counts)

    def table(self):
        """The counts as an aligned text table, with a total row."""
        width = max([len("class"), len("total")] + [len(c) for c in self.counts])
        lines = ["%-*s %7s %7s" % (width, "class", "train", "val")]
        for cls, (n_train, n_val) in self.counts.items():
            lines.append("%-*s %7d %7d" % (width, cls, n_train, n_val))
        lines.append("%-*s %7d %7d" % (width, "total", sum(c[0] for c in self.counts.values()),
                                       sum(c[1] for c in self.counts.values())))
        return "\n".join(lines)


def _is_inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def split_data(src, dst, val_ratio=0.2, seed=0, link=False, skip_bad=False):
    """Copy ``src/CLASS/*`` into ``dst/train/CLASS/`` and ``dst/val/CLASS/``.

    The split is stratified (each class keeps its share, :func:`split_files`) and the
    same for the same files and ``seed``. Originals are never moved, changed or
    deleted. Everything is checked first (every image is decoded), then written into a
    temporary folder beside ``dst`` that is renamed to ``dst`` at the end, so a failed
    or interrupted split leaves no half-filled ``dst``.

    Parameters
    ----------
    src : str
        One folder per class (at least 2), holding PNG/JPEG files.
    dst : str
        Must not exist, or be an empty folder; must not lie inside ``src``.
    val_ratio : float, default 0.2
        Share of each class that goes to ``val/``.
    seed : int, default 0
    link : bool, default False
        Hard-link the files instead of copying them (same file system only). A linked
        file *is* the original: editing it edits the original.
    skip_bad : bool, default False
        Leave out non-image files and unreadable images (listed in the report's
        ``skipped``) instead of refusing to split.

    Returns
    -------
    SplitReport

    Raises
    ------
    ValueError
        ``src`` has fewer than 2 classes, a class without images, or (unless
        ``skip_bad``) files that are not readable images, listed; ``dst`` is not
        empty or lies inside ``src``.
    """
    _check_ratio(val_ratio)
    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.exists(dst) and (not os.path.isdir(dst) or os.listdir(dst)):
        raise ValueError("%s already exists and is not an empty folder; choose a new "
                         "destination (nothing is ever overwritten)" % dst)
    if os.path.isdir(src) and _is_inside(dst, src):
        raise ValueError("the destination %s lies inside the source %s; choose a folder "
                         "outside it" % (dst, src))
    classes, files, bad = scan_class_folders(src, check=True)
    if bad and not skip_bad:
        raise ValueError("%s holds %d file(s) that are not readable PNG/JPEG images: %s; "
                         "remove them, or skip them (skip_bad=True, --skip-bad)"
                         % (src, len(bad), _brief("%s (%s)" % b for b in bad)))
    empty = [c for c in classes if not files[c]]
    if empty:
        raise ValueError("class folder(s) without images in %s: %s" % (src, ", ".join(empty)))
    splits = split_files(files, val_ratio, seed)
    parent = os.path.dirname(os.path.abspath(dst))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-split-")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; dst gets usual permissions
    try:
        for part, index in (("train", 0), ("val", 1)):
            for cls in classes:
                folder = os.path.join(tmp, part, cls)
                os.makedirs(folder)
                for path in splits[cls][index]:
                    target = os.path.join(folder, os.path.basename(path))
                    if link:
                        try:
                            os.link(path, target)
                        except OSError as err:
                            raise OSError("cannot hard-link %s into %s (%s); copy instead "
                                          "(without --link)" % (path, dst, err.strerror or err)) \
                                from None
                    else:
                        shutil.copy2(path, target)
        if os.path.isdir(dst):
            os.rmdir(dst)  # empty, checked above; os.rename needs it gone on some systems
        os.rename(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts = {cls: (len(splits[cls][0]), len(splits[cls][1])) for cls in classes}
    return SplitReport(dst=dst, counts=counts, skipped=list(bad) if skip_bad else [],
                       linked=bool(link))
