"""Data: Fashion-MNIST (download, checksums, IDX), batch iterators, image folders.

``fashion_mnist`` reads the four original files; ``iterators`` batches in-memory images
(and shards them for distributed training); ``folders`` reads ``ROOT/CLASS/*.png``;
``images`` decodes single image files.
"""
from .fashion_mnist import (BASE_URL, CLASS_NAMES, FASHION_MNIST_MEAN,  # noqa: F401
                            FASHION_MNIST_STD, FILES, DatasetNotFoundError,
                            get_fashion_mnist_labels, load_data_fashion_mnist,
                            read_fashion_mnist, show_images)
from .folders import (IMAGENET_MEAN, IMAGENET_STD, ImageFolder, ImageFolderIter,  # noqa: F401
                      load_data_image_folder, load_image_folder)
from .iterators import ImageArrayIter, shard_indices  # noqa: F401

__all__ = ["CLASS_NAMES", "FILES", "BASE_URL", "FASHION_MNIST_MEAN", "FASHION_MNIST_STD",
           "DatasetNotFoundError", "read_fashion_mnist", "load_data_fashion_mnist",
           "ImageArrayIter", "shard_indices", "get_fashion_mnist_labels", "show_images",
           "IMAGENET_MEAN", "IMAGENET_STD", "ImageFolder", "load_image_folder",
           "ImageFolderIter", "load_data_image_folder"]
