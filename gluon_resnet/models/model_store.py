"""Find, download and verify the pretrained ``.params`` files of MXNet's and GluonCV's zoos.

Both zoos publish ``{published_name}-{sha1[:8]}.params`` zipped at
``{repo}gluon/models/{published_name}-{sha1[:8]}.zip`` and keep them in
``$MXNET_HOME/models`` (default ``~/.mxnet/models``); we use the same names and
directory, so weights a user already downloaded through either zoo are found offline.
The checksums below are copied from ``mxnet/gluon/model_zoo/model_store.py`` and
``gluoncv/model_zoo/model_store.py`` (MXNet 1.9.1, GluonCV 0.10.5.post0).
"""
import difflib
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
import zipfile

__all__ = ["PUBLISHED", "PUBLISHED_TOP1", "WeightsNotFoundError", "get_model_file", "published_file_name",
           "default_root"]

#: Where both zoos publish, overridable (as in both zoos) by ``$MXNET_GLUON_REPO``.
REPO_URL = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
_URL_FORMAT = "{repo_url}gluon/models/{file_name}.zip"
_TIMEOUT = 60  # seconds without data before a download is given up
_CHUNK = 1 << 20

#: ``{our model name: (zoo, published name, sha1 of the .params file)}``.
PUBLISHED = {
    "resnet18": ("mxnet", "resnet18_v1", "a0666292f0a30ff61f857b0b66efc0228eb6a54b"),
    "resnet34": ("mxnet", "resnet34_v1", "48216ba99a8b1005d75c0f3a0c422301a0473233"),
    "resnet50": ("mxnet", "resnet50_v1", "0aee57f96768c0a2d5b23a6ec91eb08dfb0a45ce"),
    "resnet101": ("mxnet", "resnet101_v1", "d988c13d6159779e907140a638c56f229634cb02"),
    "resnet152": ("mxnet", "resnet152_v1", "671c637a14387ab9e2654eafd0d493d86b1c8579"),
    "resnet18_v2": ("mxnet", "resnet18_v2", "a81db45fd7b7a2d12ab97cd88ef0a5ac48b8f657"),
    "resnet34_v2": ("mxnet", "resnet34_v2", "9d6b80bbc35169de6b6edecffdd6047c56fdd322"),
    "resnet50_v2": ("mxnet", "resnet50_v2", "ecdde35339c1aadbec4f547857078e734a76fb49"),
    "resnet101_v2": ("mxnet", "resnet101_v2", "18e93e4f48947e002547f50eabbcc9c83e516aa6"),
    "resnet152_v2": ("mxnet", "resnet152_v2", "f2695542de38cf7e71ed58f02893d82bb409415e"),
    "resnet18_v1b": ("gluoncv", "resnet18_v1b", "2d9d980c990442f826f20781ed039851e78dabe3"),
    "resnet34_v1b": ("gluoncv", "resnet34_v1b", "8e16b84814e84f64d897854003f049872991eaa6"),
    "resnet50_v1b": ("gluoncv", "resnet50_v1b", "0ecdba34691be172036ddf244ff1b2eade75ffde"),
    "resnet101_v1b": ("gluoncv", "resnet101_v1b", "a455932aa95cb7dcfa05fd040b9b5a5660733c39"),
    "resnet152_v1b": ("gluoncv", "resnet152_v1b", "a5a61ee1ce5ab7c09720775b223360f3c60e211d"),
    "resnet50_v1c": ("gluoncv", "resnet50_v1c", "2a4e070854db538595cc7ee02e1a914bdd49ca02"),
    "resnet101_v1c": ("gluoncv", "resnet101_v1c", "064858f23f9878bfbbe378a88ccb25d612b149a1"),
    "resnet152_v1c": ("gluoncv", "resnet152_v1c", "75babab699e1c93f5da3c1ce4fd0092d1075f9a0"),
    "resnet50_v1d": ("gluoncv", "resnet50_v1d", "117a384ecf61490eb31ea147eb0e61e6d2b8a449"),
    "resnet101_v1d": ("gluoncv", "resnet101_v1d", "1b2b825feff86b0354642a4ab59f9b6e35e47338"),
    "resnet152_v1d": ("gluoncv", "resnet152_v1d", "cddbc86ff24a5544f57242ded0acb14ef1fbd437"),
    "resnet50_v1s": ("gluoncv", "resnet50_v1s", "25a187fa281ddc98afbcd0cc0f0646885b874b80"),
    "resnet101_v1s": ("gluoncv", "resnet101_v1s", "bd93a83c05f709a803b1221aeff0b028e6eebb03"),
    "resnet152_v1s": ("gluoncv", "resnet152_v1s", "cf74621d988ad06c6c6aa44f5597e5b600a966cc"),
    "resnext50_32x4d": ("gluoncv", "resnext50_32x4d",
                        "4ecf62e29336e0cbc5a2f844652635a330928b5a"),
    "resnext101_32x4d": ("gluoncv", "resnext101_32x4d",
                         "8654ca5d0ba30a7868c5b42a7d4cc0ff2ba04dbc"),
    "cifar_resnet20": ("gluoncv", "cifar_resnet20_v1", "121e1579d811b091940b3b1fa033e1f0d1dca40f"),
    "cifar_resnet56": ("gluoncv", "cifar_resnet56_v1", "2fb251e60babdceb103e9659b3baa0dea20a14d7"),
    "cifar_resnet110": ("gluoncv", "cifar_resnet110_v1",
                        "a0e1f860475bf5369f6da07e0c2e03a4ae9cff9c"),
    # The lineage (gluon_resnet.models.lineage).
    "alexnet": ("mxnet", "alexnet", "44335d1f0046b328243b32a26a4fbd62d9057b45"),
    "vgg11": ("mxnet", "vgg11", "dd221b160977f36a53f464cb54648d227c707a05"),
    "vgg13": ("mxnet", "vgg13", "6bc5de58a05a5e2e7f493e2d75a580d83efde38c"),
    "vgg16": ("mxnet", "vgg16", "e660d4569ccb679ec68f1fd3cce07a387252a90a"),
    "vgg19": ("mxnet", "vgg19", "ad2f660d101905472b83590b59708b71ea22b2e5"),
    "vgg11_bn": ("mxnet", "vgg11_bn", "ee79a8098a91fbe05b7a973fed2017a6117723a8"),
    "vgg13_bn": ("mxnet", "vgg13_bn", "7d97a06c3c7a1aecc88b6e7385c2b373a249e95e"),
    "vgg16_bn": ("mxnet", "vgg16_bn", "7f01cf050d357127a73826045c245041b0df7363"),
    "vgg19_bn": ("mxnet", "vgg19_bn", "f360b758e856f1074a85abd5fd873ed1d98297c3"),
    "densenet121": ("mxnet", "densenet121", "f27dbf2dbd5ce9a80b102d89c7483342cd33cb31"),
    "densenet161": ("mxnet", "densenet161", "b6c8a95717e3e761bd88d145f4d0a214aaa515dc"),
    "densenet169": ("mxnet", "densenet169", "2603f878403c6aa5a71a124c4a3307143d6820e9"),
    "densenet201": ("mxnet", "densenet201", "1cdbc116bc3a1b65832b18cf53e1cb8e7da017eb"),
    "googlenet": ("gluoncv", "googlenet", "c7c89366fb4410c0aeb34827795f7dab9423f950"),
}

#: ``{our model name: ImageNet top-1 %}`` of the files in ``PUBLISHED``, as GluonCV's model
#: zoo tables publish them (``docs/model_zoo/csv_tables/Classifications/*.csv`` of
#: dmlc/gluon-cv), matched by the file's hashtag (the first 8 hex digits of its SHA-1):
#: where the zoo's table names another file (MXNet's resnet50_v1 and resnet152_v1 are
#: older files than GluonCV's), or no table lists it (v1s, the CIFAR nets), none is given.
PUBLISHED_TOP1 = {
    "resnet18": 70.93, "resnet34": 74.37, "resnet101": 78.34,
    "resnet18_v2": 71.00, "resnet34_v2": 74.40, "resnet50_v2": 77.11, "resnet101_v2": 78.53,
    "resnet152_v2": 79.21,
    "resnet18_v1b": 70.94, "resnet34_v1b": 74.65, "resnet50_v1b": 77.67,
    "resnet101_v1b": 79.20, "resnet152_v1b": 79.69,
    "resnet50_v1c": 78.03, "resnet101_v1c": 79.60, "resnet152_v1c": 80.01,
    "resnet50_v1d": 79.15, "resnet101_v1d": 80.51, "resnet152_v1d": 80.61,
    "resnext50_32x4d": 79.32, "resnext101_32x4d": 80.37,
    "alexnet": 54.92, "googlenet": 72.87,
    "vgg11": 66.62, "vgg13": 67.74, "vgg16": 73.23, "vgg19": 74.11,
    "vgg11_bn": 68.59, "vgg13_bn": 68.84, "vgg16_bn": 73.10, "vgg19_bn": 74.33,
    "densenet121": 74.97, "densenet161": 77.70, "densenet169": 76.17, "densenet201": 77.32,
}

# What a failed download raises; anything else (disk full, permissions) propagates as is.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                   TimeoutError)


class WeightsNotFoundError(FileNotFoundError):
    """The weights are neither on disk nor downloadable; the message says where to put them."""


def default_root():
    """Return ``$MXNET_HOME/models`` if ``MXNET_HOME`` is set, else ``~/.mxnet/models``."""
    home = os.environ.get("MXNET_HOME") or os.path.join(os.path.expanduser("~"), ".mxnet")
    return os.path.join(home, "models")


def _lookup(name):
    try:
        return PUBLISHED[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), PUBLISHED, n=3, cutoff=0.6)
        hint = "; did you mean %s?" % ", ".join(close) if close else "."
        raise ValueError("no published weights for model %r%s Models with published "
                         "weights: %s" % (name, hint, ", ".join(PUBLISHED))) from None


def published_file_name(name):
    """Return the file name the zoos publish our model ``name``'s weights under.

    Parameters
    ----------
    name : str
        One of our model names, a key of ``PUBLISHED`` (e.g. ``"resnet50"``).

    Returns
    -------
    str
        ``"{published_name}-{sha1[:8]}.params"``, e.g. ``"resnet50_v1-0aee57f9.params"``.
    """
    _, published, sha1 = _lookup(name)
    return "%s-%s.params" % (published, sha1[:8])


def _sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _url(file_name):
    repo_url = os.environ.get("MXNET_GLUON_REPO", REPO_URL)
    if not repo_url.endswith("/"):
        repo_url += "/"
    return _URL_FORMAT.format(repo_url=repo_url, file_name=file_name[:-len(".params")])


def _download(url, out, progress):
    """Stream ``url`` into the open binary file ``out``; network failures propagate."""
    with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                       desc=os.path.basename(url))
        try:
            received = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise http.client.IncompleteRead(b"", total - received)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def get_model_file(name, root=None, progress=True):
    """Return the path of the verified pretrained ``.params`` file for model ``name``.

    A file already in ``root`` under the published name is used if its SHA-1 matches;
    otherwise the zip is downloaded from the zoo's URL, and the ``.params`` inside it is
    checked and renamed into place. Temporary files never outlive a failed call.

    Parameters
    ----------
    name : str
        One of our model names, a key of ``PUBLISHED`` (e.g. ``"resnet50"``).
    root : str, optional
        Directory holding weight files; created if missing. Default ``default_root()``,
        the directory MXNet's and GluonCV's zoos use.
    progress : bool, default True
        Show a tqdm progress bar (on stderr) while downloading.

    Returns
    -------
    str
        Path to ``{root}/{published_name}-{sha1[:8]}.params``.

    Raises
    ------
    ValueError
        If ``name`` has no published weights, or the downloaded file is not a zip holding
        the expected ``.params`` with the expected SHA-1.
    WeightsNotFoundError
        If the file is not on disk and the download fails (no network, HTTP error).
    """
    _, _, sha1 = _lookup(name)
    file_name = published_file_name(name)
    root = os.path.expanduser(default_root() if root is None else root)
    path = os.path.join(root, file_name)
    if os.path.isfile(path) and _sha1(path) == sha1:
        return path

    os.makedirs(root, exist_ok=True)
    url = _url(file_name)
    zip_fd, zip_tmp = tempfile.mkstemp(dir=root, prefix=file_name + ".", suffix=".zip.part")
    params_tmp = None
    try:
        with os.fdopen(zip_fd, "wb") as out:
            try:
                _download(url, out, progress)
            except _NETWORK_ERRORS as err:
                # HTTPError's str carries the status code; URLError's reason is the cause.
                reason = (err if isinstance(err, urllib.error.HTTPError)
                          else getattr(err, "reason", None) or err)
                stale = (" (the file there now has the wrong checksum)"
                         if os.path.exists(path) else "")
                raise WeightsNotFoundError(
                    "weights for %r are not on disk and %s could not be reached: %s. "
                    "Download that zip elsewhere and put the %s inside it at %s%s; the next "
                    "call will find it there without the network."
                    % (name, url, reason, file_name, path, stale)) from err
        try:
            with zipfile.ZipFile(zip_tmp) as archive:
                if file_name not in archive.namelist():
                    raise ValueError("%s holds %s, not the expected %s"
                                     % (url, archive.namelist(), file_name))
                params_fd, params_tmp = tempfile.mkstemp(
                    dir=root, prefix=file_name + ".", suffix=".part")
                with os.fdopen(params_fd, "wb") as out, archive.open(file_name) as member:
                    for chunk in iter(lambda: member.read(_CHUNK), b""):
                        out.write(chunk)
        except zipfile.BadZipFile as err:
            raise ValueError("%s is not a valid zip archive: %s" % (url, err)) from None
        got = _sha1(params_tmp)
        if got != sha1:
            raise ValueError("checksum mismatch for %s downloaded from %s: expected sha1 %s, "
                             "got %s; the file was discarded, try again"
                             % (file_name, url, sha1, got))
        os.replace(params_tmp, path)
        params_tmp = None
        return path
    finally:
        _remove(zip_tmp)
        if params_tmp is not None:
            _remove(params_tmp)
