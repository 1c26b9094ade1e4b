"""Tests for gluon_resnet.data against the real Fashion-MNIST files.

References are independent of the code under test: an inline gzip + np.frombuffer
decode, hashlib digests of the files on disk, known class counts of Fashion-MNIST,
``mx.nd.image.resize`` for resizing, and a brute-force search over crops for
augmentation.
"""
import functools
import gzip
import hashlib
import http.server
import os
import pathlib
import re
import shutil
import socket
import threading

import numpy as np
import pytest

import gluon_resnet  # noqa: F401  (must come before mxnet)
from gluon_resnet import data as D
from gluon_resnet.data import fashion_mnist, iterators
import mxnet as mx  # noqa: E402

TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _reference_decode(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


@pytest.fixture(scope="module")
def reference(fmnist_dir):
    """Independent decode: {train: (images, labels)}."""
    out = {}
    for train, prefix in ((True, "train"), (False, "t10k")):
        images = _reference_decode(fmnist_dir / (prefix + "-images-idx3-ubyte.gz"), 16)
        labels = _reference_decode(fmnist_dir / (prefix + "-labels-idx1-ubyte.gz"), 8)
        out[train] = (images.reshape(-1, 28, 28), labels)
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_dir(tmp_path, monkeypatch):
    """Serve a fresh directory over HTTP on 127.0.0.1 and point BASE_URL at it."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setattr(fashion_mnist, "BASE_URL", "http://127.0.0.1:%d/" % server.server_address[1])
    yield served
    server.shutdown()
    server.server_close()


# ----------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("train,n", [(True, 60000), (False, 10000)])
def test_read_matches_independent_decode(fmnist_dir, reference, train, n):
    images, labels = D.read_fashion_mnist(fmnist_dir, train=train)
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,)
    ref_images, ref_labels = reference[train]
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)
    # a known fact of Fashion-MNIST: perfectly balanced classes
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [n // 10] * 10)


def test_file_table_matches_files_and_readme(fmnist_dir):
    readme = (fmnist_dir / "README.md").read_text()
    for name, (md5, sha256) in D.FILES.items():
        content = (fmnist_dir / name).read_bytes()
        assert hashlib.md5(content).hexdigest() == md5
        assert hashlib.sha256(content).hexdigest() == sha256
        assert re.search(r"%s %s\b" % (re.escape(name), sha256), readme)
    for prefix in ("8d4fb7e6", "25c81989", "bef4ecab", "bb300cfd"):
        assert any(md5.startswith(prefix) for md5, _ in D.FILES.values())


def test_root_from_env_and_default(fmnist_dir, reference, monkeypatch, tmp_path):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fmnist_dir))
    images, labels = D.read_fashion_mnist(train=False)
    np.testing.assert_array_equal(labels, reference[False][1])
    monkeypatch.delenv("FASHION_MNIST_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert fashion_mnist._resolve_root(None) == str(tmp_path / ".mxnet" / "datasets" / "fashion-mnist")


def _copy_test_split(fmnist_dir, dest):
    dest.mkdir(exist_ok=True)
    for name in TEST_FILES:
        shutil.copy(fmnist_dir / name, dest / name)
        os.chmod(dest / name, 0o644)
    return dest


@pytest.mark.parametrize("name", TEST_FILES)
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_file_names_file_and_checksums(fmnist_dir, tmp_path, closed_url, name, damage):
    root = _copy_test_split(fmnist_dir, tmp_path / "copy")
    content = bytearray((root / name).read_bytes())
    if damage == "truncate":
        content = content[:len(content) // 2]
    else:
        content[len(content) // 2] ^= 0x01
    (root / name).write_bytes(bytes(content))
    found = hashlib.sha256(bytes(content)).hexdigest()
    with pytest.raises(ValueError, match=r"is corrupt or incomplete: SHA-256 expected") as info:
        D.read_fashion_mnist(root, train=False)
    msg = str(info.value)
    assert name in msg and D.FILES[name][1] in msg and found in msg


def _gz_idx(magic, dims, payload):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    # mtime=0: the same bytes (and so the same test ids) in every process, as pytest-xdist
    # requires of each worker's collection
    return gzip.compress(header + bytes(payload), mtime=0)


@pytest.mark.parametrize("images_gz,labels_gz,message", [
    (_gz_idx(0x803, (5, 28, 28), [0] * 5 * 784), _gz_idx(0x801, (4,), [0] * 4),
     "5 images but .* 4 labels"),
    (_gz_idx(0x801, (5, 28, 28), [0] * 5 * 784), _gz_idx(0x801, (5,), [0] * 5),
     "expected IDX magic 0x00000803, found 0x00000801"),
    (_gz_idx(0x803, (5, 28, 28), [0] * 5 * 784 + [1]), _gz_idx(0x801, (5,), [0] * 5),
     "3920 bytes of data, found 3921"),
    (_gz_idx(0x803, (5, 32, 32), [0] * 5 * 1024), _gz_idx(0x801, (5,), [0] * 5),
     "expected 28x28 images, found 32x32"),
    (_gz_idx(0x803, (5, 28, 28), [0] * 5 * 784), b"not gzip at all",
     "not a valid gzip file"),
])
def test_bad_idx_content(tmp_path, monkeypatch, images_gz, labels_gz, message):
    # files whose checksums we declare valid, so that the IDX checks are reached
    table = dict(D.FILES)
    for name, content in zip(TEST_FILES, (images_gz, labels_gz)):
        (tmp_path / name).write_bytes(content)
        table[name] = ("", hashlib.sha256(content).hexdigest())
    monkeypatch.setattr(fashion_mnist, "FILES", table)
    with pytest.raises(ValueError, match=message):
        D.read_fashion_mnist(tmp_path, train=False)


# ---------------------------------------------------------------------------- download

def test_missing_dir_without_network(tmp_path, closed_url):
    root = tmp_path / "absent"
    with pytest.raises(D.DatasetNotFoundError, match=r"is not in .* and could not be "
                       r"downloaded from ") as info:
        D.read_fashion_mnist(root)
    assert isinstance(info.value, FileNotFoundError)
    msg = str(info.value)
    for needed in [str(root), "FASHION_MNIST_DIR", closed_url, *D.FILES]:
        assert needed in msg
    assert not root.exists()


def test_download_false_does_not_touch_network(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("urlopen called with download=False")
    monkeypatch.setattr(fashion_mnist.urllib.request, "urlopen", fail)
    with pytest.raises(D.DatasetNotFoundError, match="download=False"):
        D.read_fashion_mnist(tmp_path, download=False)


def test_download_from_local_server(fmnist_dir, reference, tmp_path, http_dir):
    images_name, labels_name = TEST_FILES
    shutil.copy(fmnist_dir / labels_name, http_dir / labels_name)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(fmnist_dir / images_name, root / images_name)
    calls = []
    images, labels = D.read_fashion_mnist(root, train=False,
                                          progress=lambda done, total: calls.append((done, total)))
    np.testing.assert_array_equal(labels, reference[False][1])
    np.testing.assert_array_equal(images, reference[False][0])
    size = (fmnist_dir / labels_name).stat().st_size
    assert calls[-1] == (size, size)
    assert sorted(os.listdir(root)) == sorted(TEST_FILES)  # no temporary file left
    assert (root / labels_name).read_bytes() == (fmnist_dir / labels_name).read_bytes()


def test_download_with_tqdm_bar(fmnist_dir, tmp_path, http_dir, capsys):
    for name in TEST_FILES:
        shutil.copy(fmnist_dir / name, http_dir / name)
    D.read_fashion_mnist(tmp_path / "new", train=False, progress=True)
    assert TEST_FILES[0] in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "new")) == sorted(TEST_FILES)


def test_download_checksum_failure_leaves_nothing(fmnist_dir, tmp_path, http_dir):
    name = TEST_FILES[1]
    wrong = bytearray((fmnist_dir / name).read_bytes())
    wrong[100] ^= 0xFF
    (http_dir / name).write_bytes(bytes(wrong))
    root = _copy_test_split(fmnist_dir, tmp_path / "root")
    os.remove(root / name)
    with pytest.raises(ValueError, match=r"is corrupt or incomplete: SHA-256 expected") as info:
        D.read_fashion_mnist(root, train=False)
    msg = str(info.value)
    assert name in msg and D.FILES[name][1] in msg
    assert hashlib.sha256(bytes(wrong)).hexdigest() in msg
    assert os.listdir(root) == [TEST_FILES[0]]


def test_download_http_error_is_not_found(tmp_path, http_dir):
    with pytest.raises(D.DatasetNotFoundError, match="404"):
        D.read_fashion_mnist(tmp_path / "root", train=False)


# ---------------------------------------------------------------------------- iterator

def _collect(it):
    xs, ys = zip(*[(X.asnumpy(), y.asnumpy()) for X, y in it])
    return xs, ys


def _subset(reference, train, n):
    images, labels = reference[train]
    keep = iterators.stratified_first(labels, n)
    return images[keep], labels[keep]


def test_stratified_subset_is_balanced_and_first(reference):
    _, labels = reference[True]
    keep = iterators.stratified_first(labels, 200)
    np.testing.assert_array_equal(np.bincount(labels[keep], minlength=10), [20] * 10)
    for c in range(10):  # the first 20 of each class, in file order
        np.testing.assert_array_equal(keep[labels[keep] == c], np.flatnonzero(labels == c)[:20])


def test_batches_shapes_values_and_last_partial(fmnist_dir, reference):
    train_iter, test_iter = D.load_data_fashion_mnist(
        64, root=fmnist_dir, num_train=200, num_test=100, seed=0)
    assert (len(train_iter), len(test_iter)) == (4, 2)
    xs, ys = _collect(test_iter)
    assert [x.shape for x in xs] == [(64, 1, 28, 28), (36, 1, 28, 28)]
    assert [y.shape for y in ys] == [(64,), (36,)]
    for X, y in test_iter:
        assert X.dtype == np.float32 and y.dtype == np.int32
        assert X.context == mx.cpu() and y.context == mx.cpu()
    ref_images, ref_labels = _subset(reference, False, 100)
    np.testing.assert_allclose(np.concatenate(xs)[:, 0], ref_images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(np.concatenate(ys), ref_labels)
    assert sum(len(y) for y in _collect(train_iter)[1]) == 200


def test_shuffle_keeps_labels_aligned(fmnist_dir, reference):
    train_iter, _ = D.load_data_fashion_mnist(50, root=fmnist_dir, num_train=300,
                                              num_test=10, seed=1)
    ref_images, ref_labels = _subset(reference, True, 300)
    label_of = {img.tobytes(): lab for img, lab in zip(ref_images, ref_labels)}
    xs, ys = _collect(train_iter)
    images = np.rint(np.concatenate(xs)[:, 0] * 255).astype(np.uint8)
    seen = [label_of[img.tobytes()] for img in images]
    np.testing.assert_array_equal(seen, np.concatenate(ys))
    assert len({img.tobytes() for img in images}) == 300
    assert not np.array_equal(np.concatenate(ys), ref_labels)  # actually shuffled


def test_resize_matches_image_resize(fmnist_dir, reference):
    _, test_iter = D.load_data_fashion_mnist(32, resize=96, root=fmnist_dir,
                                             num_train=10, num_test=32)
    (X, _), = list(test_iter)
    assert X.shape == (32, 1, 96, 96)
    ref_images, _ = _subset(reference, False, 32)
    ref = mx.nd.image.resize(mx.nd.array(ref_images[..., None], dtype=np.float32), size=96)
    np.testing.assert_allclose(X.asnumpy()[:, 0], ref.asnumpy()[..., 0] / 255.0, atol=1e-5)


def test_mean_std_normalisation(fmnist_dir, reference):
    _, test_iter = D.load_data_fashion_mnist(
        20, root=fmnist_dir, num_train=10, num_test=20,
        mean=D.FASHION_MNIST_MEAN, std=D.FASHION_MNIST_STD)
    (X, _), = list(test_iter)
    ref_images, _ = _subset(reference, False, 20)
    expected = (ref_images / 255.0 - D.FASHION_MNIST_MEAN) / D.FASHION_MNIST_STD
    np.testing.assert_allclose(X.asnumpy()[:, 0], expected, rtol=1e-5, atol=1e-5)


def test_training_mean_std_constants(reference):
    counts = np.bincount(reference[True][0].reshape(-1), minlength=256)
    values = np.arange(256) / 255.0
    mean = (counts * values).sum() / counts.sum()
    std = np.sqrt((counts * (values - mean) ** 2).sum() / counts.sum())
    assert abs(mean - D.FASHION_MNIST_MEAN) < 1e-4
    assert abs(std - D.FASHION_MNIST_STD) < 1e-4


def test_flip_only_augmentation(reference):
    images, labels = _subset(reference, True, 200)
    it = D.ImageArrayIter(images, labels, 64, augment=True, pad=0, seed=0)
    xs, ys = _collect(it)
    out = np.rint(np.concatenate(xs)[:, 0] * 255).astype(np.uint8)
    np.testing.assert_array_equal(np.concatenate(ys), labels)
    same = np.all(out == images, axis=(1, 2))
    flipped = np.all(out == images[:, :, ::-1], axis=(1, 2))
    assert np.all(same | flipped)
    assert 60 < flipped.sum() < 140 and 60 < same.sum() < 140


def test_crop_flip_augmentation_is_a_padded_crop(reference):
    images, labels = _subset(reference, True, 100)
    it = D.ImageArrayIter(images, labels, 40, augment=True, pad=4, seed=0)
    xs, ys = _collect(it)
    np.testing.assert_array_equal(np.concatenate(ys), labels)
    out = np.rint(np.concatenate(xs)[:, 0] * 255).astype(np.uint8)
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4)))
    offsets = set()
    for i in range(len(images)):
        matches = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (0, 1)
                   if np.array_equal(out[i], (lambda c: c[:, ::-1] if f else c)(
                       padded[i, dy:dy + 28, dx:dx + 28]))]
        assert matches, "augmented image %d is no flipped/unflipped crop of its source" % i
        offsets.update(matches)
    assert len({(dy, dx) for dy, dx, _ in offsets}) > 20  # offsets do vary per image
    assert (np.abs(out.astype(int) - images).sum(axis=(1, 2)) > 0).mean() > 0.8


def test_augmentation_only_on_train(fmnist_dir, reference):
    _, test_iter = D.load_data_fashion_mnist(50, root=fmnist_dir, augment=True,
                                             num_train=10, num_test=50, seed=0)
    (X, _), = list(test_iter)
    ref_images, _ = _subset(reference, False, 50)
    np.testing.assert_allclose(X.asnumpy()[:, 0], ref_images / 255.0, rtol=1e-6)


def test_seed_reproducibility(fmnist_dir):
    def epochs(seed):
        train_iter, _ = D.load_data_fashion_mnist(
            32, resize=40, root=fmnist_dir, augment=True, num_train=100, num_test=10, seed=seed)
        return [_collect(train_iter) for _ in range(2)]

    a, b, c = epochs(7), epochs(7), epochs(8)
    for (xa, ya), (xb, yb) in zip(a, b):
        for u, v in zip(xa + ya, xb + yb):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0][1][0], a[1][1][0])  # a new permutation each pass
    assert not np.array_equal(a[0][0][0], c[0][0][0])


def test_last_batch_discard(reference):
    images, labels = _subset(reference, True, 100)
    it = D.ImageArrayIter(images, labels, 32, last_batch="discard")
    xs, _ = _collect(it)
    assert len(it) == 3 and [x.shape[0] for x in xs] == [32, 32, 32]


@pytest.mark.parametrize("kwargs,message", [
    (dict(batch_size=0), "batch_size must be >= 1, got 0"),
    (dict(batch_size=-5), "batch_size must be >= 1, got -5"),
    (dict(batch_size=2.5), r"batch_size must be an int, got 2\.5"),
    (dict(batch_size=True), "batch_size must be an int, got True"),
    (dict(batch_size="8"), "batch_size must be an int, got '8'"),
    (dict(batch_size=8, resize=0), "resize must be between 1 and 1024, got 0"),
    (dict(batch_size=8, resize=-3), "resize must be between 1 and 1024, got -3"),
    (dict(batch_size=8, resize=5000), "resize must be between 1 and 1024, got 5000"),
    (dict(batch_size=8, resize=96.0), r"resize must be an int, got 96\.0"),
    (dict(batch_size=8, num_train=60001), "num_train must be between 1 and 60000, got 60001"),
    (dict(batch_size=8, num_train=0), "num_train must be between 1 and 60000, got 0"),
    (dict(batch_size=8, num_test=10001), "num_test must be between 1 and 10000, got 10001"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    # an empty root proves the arguments are checked before any file is looked for
    with pytest.raises(ValueError, match=message):
        D.load_data_fashion_mnist(root=tmp_path, **kwargs)


@pytest.mark.parametrize("kwargs,message", [
    (dict(labels=np.zeros(3)), r"labels must have shape \(4,\) to match the images, got \(3,\)"),
    (dict(images=np.zeros((4, 28, 28))), "images must be a uint8 array .* got float64"),
    (dict(mean=0.5), "pass both mean and std or neither"),
    (dict(mean=0.5, std=0.0), "std must be positive, got 0.0"),
    (dict(ctx="cpu"), "ctx must be an mxnet.Context, got 'cpu'"),
    (dict(last_batch="drop"), "last_batch must be 'keep' or 'discard', got 'drop'"),
    (dict(pad=-1), "pad must be >= 0, got -1"),
])
def test_iter_bad_arguments(kwargs, message):
    args = dict(images=np.zeros((4, 28, 28), np.uint8), labels=np.zeros(4), batch_size=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        D.ImageArrayIter(**args)


# ----------------------------------------------------------------------- labels, plots

def test_labels_names():
    assert D.CLASS_NAMES[0] == "t-shirt" and D.CLASS_NAMES[9] == "ankle boot"
    assert D.get_fashion_mnist_labels(mx.nd.array([0, 5, 9])) == ["t-shirt", "sandal", "ankle boot"]
    with pytest.raises(ValueError, match="integers 0-9, got 10"):
        D.get_fashion_mnist_labels([10])


def test_show_images(reference):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    images, labels = reference[False][0][:6], reference[False][1][:6]
    titles = D.get_fashion_mnist_labels(labels)
    axes = D.show_images(mx.nd.array(images).reshape((6, 1, 28, 28)), 2, 4, titles=titles)
    assert len(axes) == 8
    assert [ax.get_title() for ax in axes[:6]] == titles
    np.testing.assert_array_equal(axes[0].images[0].get_array(), images[0])
    plt.close("all")
    with pytest.raises(ValueError, match="7 images do not fit a 2x3 grid"):
        D.show_images(images[:1].repeat(7, 0), 2, 3)
