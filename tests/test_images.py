"""Tests for reading your own images, listing them, splitting folders, and image-folder data.

References: pixel values computed by hand from the documented conversions (white
compositing, 16-bit -> 8-bit, luma); file hashes and inode numbers for what split-data
may and may not touch; an independent numpy bilinear sampler for the random resized crop.
"""
import contextlib
import io
import os
import re

import numpy as np
import pytest

import gluon_resnet  # noqa: F401  (must come before mxnet)
from gluon_resnet import cli
from gluon_resnet.data import ImageFolderIter, load_data_image_folder, load_image_folder
from gluon_resnet.data.images import (ImageError, image_channels, list_images, load_image,
                                 split_data)
from _fmnist_images import CLASSES, tree_hashes, write_fmnist_folder
from conftest import run_main  # noqa: E402

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def src(tmp_path_factory, fmnist_dir):
    return str(write_fmnist_folder(str(tmp_path_factory.mktemp("img") / "src"), fmnist_dir, 40))


# --- load_image -----------------------------------------------------------------------

def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = (200, 100, 0)
    rgba[..., 3] = [[255, 128, 0], [0, 64, 255]]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    alpha = rgba[..., 3:].astype(float) / 255
    expected = np.round(rgba[..., :3] * alpha + 255 * (1 - alpha))
    got = load_image(tmp_path / "a.png", 3)
    assert got.dtype == np.uint8 and got.shape == (2, 3, 3)
    assert np.abs(got.astype(float) - expected).max() <= 1
    gray = load_image(tmp_path / "a.png", 1)
    luma = expected @ [0.299, 0.587, 0.114]
    assert gray.shape == (2, 3) and np.abs(gray - luma).max() <= 1.5


def test_16bit_png_is_scaled_to_8_bits(tmp_path):
    values = np.array([[0, 257, 1000], [30000, 65280, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    np.testing.assert_array_equal(load_image(tmp_path / "g16.png", 1),
                                  [[0, 1, 4], [117, 254, 255]])
    rgb = load_image(tmp_path / "g16.png", 3)
    assert rgb.shape == (2, 3, 3) and (rgb == rgb[..., :1]).all()
    assert image_channels(tmp_path / "g16.png") == 1


def test_palette_gray_and_cmyk(tmp_path):
    rgb = np.random.RandomState(0).randint(0, 256, (8, 9, 3)).astype(np.uint8)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    pal = Image.open(tmp_path / "p.png").convert("RGB")
    np.testing.assert_array_equal(load_image(tmp_path / "p.png", 3), np.asarray(pal))
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(gray).save(tmp_path / "g.png")
    np.testing.assert_array_equal(load_image(tmp_path / "g.png", 3), np.stack([gray] * 3, -1))
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 220
    Image.fromarray(red).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    got = load_image(tmp_path / "c.jpg", 3).astype(int)
    assert np.abs(got - red).max() <= 8
    assert image_channels(tmp_path / "c.jpg") == 3


def test_bad_files_give_errors_naming_them(tmp_path):
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(tmp_path / "ok.jpg")
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("not an image")
    for name in ("cut.jpg", "text.png"):
        with pytest.raises(ImageError, match=r"%s: .*corrupt, truncated" % name):
            load_image(tmp_path / name, 3)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        load_image(tmp_path / "nope.png", 3)
    with pytest.raises(ValueError, match="channels must be 1"):
        load_image(tmp_path / "ok.jpg", 4)


def test_list_images_sorted_case_insensitive(tmp_path):
    for name in ("b.PNG", "a.jpeg", "c.JpG", "notes.txt", ".hidden.png", "z.gif"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [os.path.basename(p) for p in list_images(tmp_path)] == ["a.jpeg", "b.PNG", "c.JpG"]


# --- split_data -----------------------------------------------------------------------

def test_split_is_stratified_reproducible_and_leaves_originals(src, tmp_path):
    before = tree_hashes(src)
    report = split_data(src, tmp_path / "a", val_ratio=0.25, seed=3)
    assert tree_hashes(src) == before  # originals there and byte-identical
    assert report.classes == sorted(CLASSES)
    for cls in CLASSES:
        train = sorted(os.listdir(tmp_path / "a" / "train" / cls))
        val = sorted(os.listdir(tmp_path / "a" / "val" / cls))
        assert (len(train), len(val)) == report.counts[cls] == (30, 10)
        assert not set(train) & set(val)
        assert sorted(train + val) == sorted(os.listdir(os.path.join(src, cls)))
    copied = tree_hashes(tmp_path / "a")
    assert all(copied[os.path.join(part, rel)] == h for rel, h in before.items()
               for part in ("train", "val") if os.path.join(part, rel) in copied)
    assert len(copied) == len(before)
    # the same seed gives the same split, another seed another one
    split_data(src, tmp_path / "b", val_ratio=0.25, seed=3)
    split_data(src, tmp_path / "c", val_ratio=0.25, seed=4)
    val = {k: sorted(os.listdir(tmp_path / k / "val" / "bag")) for k in "abc"}
    assert val["a"] == val["b"] != val["c"]


def test_split_refuses_non_empty_dst_and_dst_inside_src(src, tmp_path):
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not an empty folder"):
        split_data(src, tmp_path / "dst")
    assert os.listdir(tmp_path / "dst") == ["mine.txt"]
    assert (tmp_path / "dst" / "mine.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="inside the source"):
        split_data(src, os.path.join(src, "new"))
    assert not os.path.exists(os.path.join(src, "new"))
    (tmp_path / "empty").mkdir()
    split_data(src, tmp_path / "empty")  # an empty folder is fine
    assert sorted(os.listdir(tmp_path / "empty")) == ["train", "val"]


def test_split_link_makes_hard_links(src, tmp_path):
    split_data(src, tmp_path / "l", link=True)
    for cls in CLASSES:
        for name in os.listdir(tmp_path / "l" / "val" / cls):
            linked, orig = os.stat(tmp_path / "l" / "val" / cls / name), os.stat(
                os.path.join(src, cls, name))
            assert linked.st_ino == orig.st_ino and orig.st_nlink >= 2


def test_split_bad_inputs(tmp_path):
    def make(root, classes):
        for cls, names in classes.items():
            os.makedirs(root / cls)
            for name in names:
                Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / cls / name)
        return root
    one = make(tmp_path / "one", {"cat": ["1.png", "2.png"]})
    with pytest.raises(ValueError, match="at least 2; found 1"):
        split_data(one, tmp_path / "o")
    empty = make(tmp_path / "empty", {"cat": ["1.png", "2.png"], "dog": []})
    with pytest.raises(ValueError, match="without images.*dog"):
        split_data(empty, tmp_path / "e")
    bad = make(tmp_path / "bad", {"cat": ["1.png", "2.png", "3.png"], "dog": ["1.png", "2.png"]})
    (bad / "cat" / "notes.txt").write_text("hi")
    (bad / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    before = tree_hashes(bad)
    with pytest.raises(ValueError, match=r"2 file\(s\).*cat/notes\.txt.*dog/broken\.png"):
        split_data(bad, tmp_path / "b")
    assert not os.path.exists(tmp_path / "b")
    code, out, err = run_main(["split-data", str(bad), str(tmp_path / "b"), "--skip-bad"])
    assert code == 0, err
    assert "warning: skipped" in err and "broken.png" in err and "notes.txt" in err
    assert re.search(r"^cat\s+2\s+1$", out, re.M) and re.search(r"^total\s+3\s+2$", out, re.M)
    assert tree_hashes(bad) == before
    code, _, err = run_main(["split-data", str(bad), str(tmp_path / "b")])
    assert code == 2 and err.count("\n") == 1 and "not an empty folder" in err


# --- image-folder data ----------------------------------------------------------------

def test_load_image_folder(src, tmp_path):
    folder = load_image_folder(src)
    assert folder.class_names == sorted(CLASSES) and folder.channels == 1
    assert folder.images.shape == (160, 28, 28) and folder.images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(folder.labels), [40] * 4)
    i = folder.paths.index(os.path.join(src, "sneaker", "sneaker_0003.png"))
    assert folder.class_names[folder.labels[i]] == "sneaker"
    np.testing.assert_array_equal(folder.images[i], np.asarray(Image.open(folder.paths[i])))
    rgb = load_image_folder(src, channels=3, size=(20, 24))
    assert rgb.images.shape == (160, 20, 24, 3)
    # sizes differ: a clear error, unless size= is given
    mixed = tmp_path / "mixed"
    for cls, shape in (("a", (10, 10)), ("b", (12, 9))):
        os.makedirs(mixed / cls)
        Image.fromarray(np.zeros(shape, np.uint8)).save(mixed / cls / "x.png")
    with pytest.raises(ValueError, match="differ in size.*pass size="):
        load_image_folder(mixed)
    assert load_image_folder(mixed, size=8).images.shape == (2, 8, 8)


def test_on_the_fly_split_equals_split_data(src, tmp_path):
    split_data(src, tmp_path / "s", val_ratio=0.2, seed=5)
    a_train, a_val, names = load_data_image_folder(tmp_path / "s", 16)
    b_train, b_val, names_b = load_data_image_folder(src, 16, val_ratio=0.2, split_seed=5)
    assert names == names_b
    for a, b in ((a_train, b_train), (a_val, b_val)):
        np.testing.assert_array_equal(a._images, b._images)
        np.testing.assert_array_equal(a._labels, b._labels)


def _bilinear_reference(img, theta, out_h, out_w):
    """Independent align-corners bilinear sampling of a (C, H, W) image at affine(grid)."""
    c, h, w = img.shape
    yt, xt = np.meshgrid(np.linspace(-1, 1, out_h), np.linspace(-1, 1, out_w), indexing="ij")
    xs = theta[0] * xt + theta[1] * yt + theta[2]
    ys = theta[3] * xt + theta[4] * yt + theta[5]
    px, py = (xs + 1) * (w - 1) / 2, (ys + 1) * (h - 1) / 2
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    out = np.zeros((c, out_h, out_w))
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - np.abs(px - xi)) * (1 - np.abs(py - yi))
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = img[:, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
            out += vals * np.where(inside, wgt, 0)
    return out


def test_random_resized_crop_against_reference():
    rng = np.random.RandomState(1)
    images = rng.randint(0, 256, (4, 12, 16, 3)).astype(np.uint8)
    it = ImageFolderIter(images, np.arange(4), 4, augment=True, resize=10, seed=0)
    params = (np.array([1.0, 1.0, 0.5, 0.7]), np.array([1.0, 1.0, 0.6, 0.4]),
              np.array([0.0, 0.0, 0.3, -0.2]), np.array([0.0, 0.0, -0.1, 0.5]),
              np.array([False, True, False, True]))
    it._crop_params = lambda b: params
    X, _ = next(iter(it))
    X = X.asnumpy() * 255
    fw, fh, cx, cy, flip = params
    for i in range(4):
        theta = [-fw[i] if flip[i] else fw[i], 0, cx[i], 0, fh[i], cy[i]]
        ref = _bilinear_reference(images[i].transpose(2, 0, 1).astype(float), theta, 10, 10)
        np.testing.assert_allclose(X[i], ref, atol=1e-3)
    # without resize, a full-image crop is the identity and a flip reverses the columns
    it = ImageFolderIter(images, np.arange(4), 4, augment=True, seed=0)
    ones, zeros = np.ones(4), np.zeros(4)
    it._crop_params = lambda b: (ones, ones, zeros, zeros, np.array([False, True] * 2))
    X = next(iter(it))[0].asnumpy() * 255
    chw = images.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(X[0], chw[0], atol=1e-3)
    np.testing.assert_allclose(X[1], chw[1][..., ::-1], atol=1e-3)


def test_folder_iter_normalises_per_channel():
    images = np.full((2, 4, 4, 3), [51, 102, 204], np.uint8)
    it = ImageFolderIter(images, [0, 1], 2, mean=(0.2, 0.4, 0.8), std=(0.5, 0.25, 0.1))
    X = next(iter(it))[0].asnumpy()
    np.testing.assert_allclose(X[:, :, 0, 0], [[0, 0, 0]] * 2, atol=1e-6)
    it = ImageFolderIter(images, [0, 1], 2, mean=0.0, std=0.5, resize=7)
    X = next(iter(it))[0].asnumpy()
    assert X.shape == (2, 3, 7, 7)
    np.testing.assert_allclose(X[0, :, 3, 3], [0.4, 0.8, 1.6], rtol=1e-5)
    with pytest.raises(ValueError, match="mean needs 1 or 3 values"):
        ImageFolderIter(images, [0, 1], 2, mean=(0.1, 0.2), std=(1, 1))
