"""Tests for gluon_resnet.models.model_store: the table against the zoos, downloads over local HTTP."""
import hashlib
import http.server
import io
import os
import re
import socket
import threading
import zipfile

import pytest

import gluon_resnet  # noqa: F401  (before mxnet)
from gluon_resnet.models import model_store
import mxnet as mx
from mxnet.gluon.model_zoo import model_store as mx_store
from mxnet.gluon.utils import check_sha1



def _reference_store(zoo):
    if zoo == "mxnet":
        return mx_store
    from gluoncv.model_zoo import model_store as gcv_store
    return gcv_store

EXPECTED_NAMES = (
    ["resnet%d" % d for d in (18, 34, 50, 101, 152)]
    + ["resnet%d_v2" % d for d in (18, 34, 50, 101, 152)]
    + ["resnet%d_v1b" % d for d in (18, 34, 50, 101, 152)]
    + ["resnet%d_v1%s" % (d, v) for v in "cds" for d in (50, 101, 152)]
    + ["resnext50_32x4d", "resnext101_32x4d"]
    + ["cifar_resnet%d" % d for d in (20, 56, 110)]
    + ["alexnet", "googlenet"]
    + ["vgg%d%s" % (d, bn) for d in (11, 13, 16, 19) for bn in ("", "_bn")]
    + ["densenet%d" % d for d in (121, 161, 169, 201)])


# --- the table against MXNet's and GluonCV's own stores ---------------------------------

def test_table_covers_the_expected_models():
    assert sorted(model_store.PUBLISHED) == sorted(EXPECTED_NAMES)


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.gluoncv) if model_store.PUBLISHED[n][0] == "gluoncv"
    else n for n in sorted(model_store.PUBLISHED)])
def test_table_matches_reference_zoo(name):
    zoo, published, sha1 = model_store.PUBLISHED[name]
    ref = _reference_store(zoo)
    assert sha1 == ref._model_sha1[published]
    assert model_store.published_file_name(name) == "%s-%s.params" % (
        published, ref.short_hash(published))
    ref_url = ref._url_format.format(repo_url=ref.apache_repo_url,
                                     file_name="%s-%s" % (published, ref.short_hash(published)))
    assert model_store.REPO_URL == ref.apache_repo_url
    assert model_store._url(model_store.published_file_name(name)) == ref_url


def test_zoo_matches_naming_convention():
    # Our names map to the zoo's versioned names: resnet50 -> resnet50_v1, cifar -> _v1.
    assert model_store.PUBLISHED["resnet50"][:2] == ("mxnet", "resnet50_v1")
    assert model_store.PUBLISHED["resnet50_v2"][:2] == ("mxnet", "resnet50_v2")
    assert model_store.PUBLISHED["cifar_resnet56"][:2] == ("gluoncv", "cifar_resnet56_v1")


def test_default_root_is_the_zoos_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    assert model_store.default_root() == os.path.join(mx.base.data_dir(), "models")
    assert model_store.default_root() == os.path.join(str(tmp_path), "models")
    monkeypatch.delenv("MXNET_HOME")
    assert model_store.default_root() == os.path.join(mx.base.data_dir(), "models")
    assert model_store.default_root() == os.path.expanduser(os.path.join("~", ".mxnet", "models"))


def test_unknown_model_lists_close_names():
    with pytest.raises(ValueError, match=r"'resnet5'.*did you mean resnet50") as info:
        model_store.get_model_file("resnet5", root="/nonexistent-never-created")
    message = str(info.value)
    assert "'resnet5'" in message and "did you mean" in message
    assert "did you mean resnet50" in message and "resnext50_32x4d" in message
    assert not os.path.exists("/nonexistent-never-created")


# --- downloads from a real HTTP server on 127.0.0.1 -------------------------------------

class _Server:
    """Serve ``files`` (URL path -> bytes) over HTTP and count the requests."""

    def __init__(self):
        self.files = {}
        self.hits = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return "http://127.0.0.1:%d/" % port


def _params_bytes(tmp_path, seed=0):
    path = str(tmp_path / ("weights%d.params" % seed))
    mx.nd.save(path, {"conv.weight": mx.nd.arange(24).reshape((2, 3, 4)) + seed,
                      "fc.bias": mx.nd.ones((5,)) * seed})
    with open(path, "rb") as f:
        return f.read()


def _zip(member_name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(member_name, data)
    return buf.getvalue()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A local zoo serving a small resnet18 zip; the table entry points at its sha1."""
    params = _params_bytes(tmp_path)
    sha1 = hashlib.sha1(params).hexdigest()
    monkeypatch.setitem(model_store.PUBLISHED, "resnet18", ("mxnet", "resnet18_v1", sha1))
    monkeypatch.delenv("MXNET_GLUON_REPO", raising=False)
    server = _Server()
    monkeypatch.setattr(model_store, "REPO_URL", server.url)
    file_name = "resnet18_v1-%s.params" % sha1[:8]
    url_path = "/gluon/models/resnet18_v1-%s.zip" % sha1[:8]
    server.files[url_path] = _zip(file_name, params)
    root = tmp_path / "models"
    yield server, root, file_name, url_path, sha1, params
    server.close()


def test_download_verifies_and_caches(served, capsys):
    server, root, file_name, _, sha1, params = served
    path = model_store.get_model_file("resnet18", root=str(root), progress=False)
    assert path == os.path.join(str(root), file_name)
    assert check_sha1(path, sha1)
    loaded = mx.nd.load(path)
    assert sorted(loaded) == ["conv.weight", "fc.bias"]
    assert loaded["conv.weight"].asnumpy().ravel().tolist() == list(range(24))
    assert sorted(os.listdir(root)) == [file_name]  # no temp files left
    assert server.hits == 1
    assert model_store.get_model_file("resnet18", root=str(root), progress=False) == path
    assert server.hits == 1  # second call read the cache
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_progress_bar_goes_to_stderr(served, capsys):
    server, root, file_name, url_path, _, _ = served
    model_store.get_model_file("resnet18", root=str(root), progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "resnet18_v1" in err and "%d/%d" % ((len(server.files[url_path]),) * 2) in err


def test_mxnet_home_is_the_default_root(served, monkeypatch, tmp_path):
    _, _, file_name, _, _, _ = served
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "home"))
    path = model_store.get_model_file("resnet18", progress=False)
    assert path == os.path.join(str(tmp_path / "home"), "models", file_name)


def test_corrupted_content_raises_and_leaves_nothing(served, tmp_path):
    server, root, file_name, url_path, sha1, _ = served
    bad = _params_bytes(tmp_path, seed=1)
    got = hashlib.sha1(bad).hexdigest()
    server.files[url_path] = _zip(file_name, bad)
    with pytest.raises(ValueError, match=r"checksum mismatch for .*expected sha1 ") as info:
        model_store.get_model_file("resnet18", root=str(root), progress=False)
    message = str(info.value)
    assert file_name in message and sha1 in message and got in message
    assert os.listdir(root) == []


@pytest.mark.parametrize("body", [b"<html>not a zip</html>", "wrong member"])
def test_malformed_zip_raises_and_leaves_nothing(served, body):
    server, root, file_name, url_path, _, params = served
    if body == "wrong member":
        body = _zip("something_else.params", params)
    server.files[url_path] = body
    expected = (r"is not a valid zip archive" if body.startswith(b"<html>")
                else r"holds \['something_else\.params'\], not the expected "
                + re.escape(file_name))
    with pytest.raises(ValueError, match=expected):
        model_store.get_model_file("resnet18", root=str(root), progress=False)
    assert os.listdir(root) == []


def test_bad_cached_file_is_replaced(served):
    server, root, file_name, _, sha1, _ = served
    root.mkdir()
    (root / file_name).write_bytes(b"truncated")
    path = model_store.get_model_file("resnet18", root=str(root), progress=False)
    assert server.hits == 1 and check_sha1(path, sha1)


def test_http_error_raises_weights_not_found(served):
    server, root, file_name, url_path, _, _ = served
    del server.files[url_path]
    with pytest.raises(model_store.WeightsNotFoundError,
                       match=r"could not be reached.*404") as info:
        model_store.get_model_file("resnet18", root=str(root), progress=False)
    message = str(info.value)
    assert "404" in message and server.url.rstrip("/") + url_path in message
    assert os.path.join(str(root), file_name) in message
    assert os.listdir(root) == []



def test_server_down_raises_weights_not_found(served, monkeypatch):
    _, root, file_name, _, _, _ = served
    monkeypatch.setattr(model_store, "REPO_URL", _closed_port_url())
    with pytest.raises(model_store.WeightsNotFoundError, match=r"could not be reached") as info:
        model_store.get_model_file("resnet18", root=str(root), progress=False)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert os.path.join(str(root), file_name) in message
    assert "could not be reached" in message and "refused" in message.lower()
    assert os.listdir(root) == []


def test_preplaced_file_is_found_offline(tmp_path, monkeypatch):
    params = _params_bytes(tmp_path)
    sha1 = hashlib.sha1(params).hexdigest()
    monkeypatch.setitem(model_store.PUBLISHED, "resnet50_v1b", ("gluoncv", "resnet50_v1b", sha1))
    monkeypatch.setattr(model_store, "REPO_URL", _closed_port_url())
    monkeypatch.delenv("MXNET_GLUON_REPO", raising=False)
    root = tmp_path / "models"
    root.mkdir()
    target = root / ("resnet50_v1b-%s.params" % sha1[:8])
    target.write_bytes(params)
    assert model_store.get_model_file("resnet50_v1b", root=str(root)) == str(target)


def test_published_top1_is_given_only_for_files_in_the_table():
    """GluonCV's published top-1 is kept only for files we download (matched by hashtag),
    and MXNet's older resnet50_v1/resnet152_v1 files, which GluonCV's table does not list,
    have none."""
    assert set(model_store.PUBLISHED_TOP1) < set(model_store.PUBLISHED)
    assert "resnet50" not in model_store.PUBLISHED_TOP1
    assert "resnet152" not in model_store.PUBLISHED_TOP1
    assert model_store.PUBLISHED_TOP1["resnet50_v1d"] == 79.15
    assert all(50 < v < 85 for v in model_store.PUBLISHED_TOP1.values())
