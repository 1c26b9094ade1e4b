"""A real image folder for the tests: Fashion-MNIST test images written as PNG files."""
import hashlib
import os

import numpy as np

#: Four easily told apart classes, by their Fashion-MNIST labels.
CLASSES = {"trouser": 1, "bag": 8, "sneaker": 7, "dress": 3}


def write_fmnist_folder(root, fmnist_dir, per_class=80):
    """Write ``per_class`` test images of each of :data:`CLASSES` to ``root/CLASS/NNNN.png``."""
    from PIL import Image

    from gluon_resnet.data import read_fashion_mnist
    images, labels = read_fashion_mnist(fmnist_dir, train=False, download=False)
    for name, label in CLASSES.items():
        os.makedirs(os.path.join(root, name))
        for i, index in enumerate(np.flatnonzero(labels == label)[:per_class]):
            Image.fromarray(images[index], mode="L").save(
                os.path.join(root, name, "%s_%04d.png" % (name, i)))
    return root


def tree_hashes(root):
    """``{relative path: sha256}`` of every file under ``root``."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out
