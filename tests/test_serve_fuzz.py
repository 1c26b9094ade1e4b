"""Fuzzed requests to ``gluon-resnet serve``: random and mutated bodies, content types,
multipart forms, tokens and query strings. Whatever arrives, the answer is 200 or a
4xx with a JSON message, never a 5xx, and the server keeps answering afterwards."""
import json

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from _serve import (TOKEN, ThreadServer, metric, multipart, png_bytes, random_image,
                    request, tiny_export)
from gluon_resnet.serve import create_app

PNG = png_bytes(random_image(30))
JPEG = png_bytes(random_image(31), fmt="JPEG")
_HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@pytest.fixture(scope="module")
def port():
    app = create_app([tiny_export()[0]], max_request_bytes=20_000, max_pixels=100_000,
                     token=TOKEN, timeout_s=10)
    server = ThreadServer(app)
    yield server.port
    server.stop()


@st.composite
def image_like(draw):
    """Valid images, cut or flipped ones, and bytes that are no image."""
    base = draw(st.sampled_from([PNG, JPEG, PNG, JPEG, b""]))
    kind = draw(st.sampled_from(["whole", "whole", "cut", "flip", "random", "big"]))
    if kind == "big":  # over the 20,000-byte limit
        return base + bytes(draw(st.integers(20_001, 30_000)))
    if kind == "cut" and base:
        return base[:draw(st.integers(0, len(base) - 1))]
    if kind == "flip" and base:
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "random":
        return draw(st.binary(max_size=3000))
    return base


@st.composite
def requests(draw):
    data = draw(image_like())
    headers = {}
    if draw(st.booleans()):
        boundary = draw(st.text("abcXYZ0123456789'()+_,-./:=?", min_size=1, max_size=30))
        body, ctype = multipart(data, draw(_HEADER_TEXT).replace('"', ""),
                                draw(_HEADER_TEXT), boundary,
                                fields=draw(st.lists(st.tuples(
                                    st.text("abcdef", min_size=1, max_size=5),
                                    st.text("xyz", max_size=5)), max_size=3)))
        if draw(st.booleans()):
            body = body[:draw(st.integers(0, len(body)))]
        if draw(st.booleans()):
            ctype = draw(st.sampled_from(["multipart/form-data", "multipart/form-data; "
                                          "boundary=", ctype + "; charset=x"]))
        headers["Content-Type"] = ctype
    else:
        body = data
        ctype = draw(st.one_of(st.none(), _HEADER_TEXT, st.sampled_from(
            ["image/png", "image/jpeg", "application/octet-stream"])))
        if ctype is not None:
            headers["Content-Type"] = ctype
    if draw(st.sampled_from([True, True, True, False])):  # mostly the right token
        headers["Authorization"] = "Bearer " + TOKEN
    else:
        headers["Authorization"] = draw(_HEADER_TEXT)
    for _ in range(draw(st.integers(0, 2))):
        headers["X-" + draw(st.text("abcdefgh", min_size=1, max_size=8))] = draw(_HEADER_TEXT)
    name = draw(st.sampled_from(["tiny", "tiny", "tiny", "other", "t%C3%A9"]))
    query = draw(st.sampled_from(["", "?topk=3", "?topk=0", "?topk=-1", "?topk=99999999",
                                  "?topk=%FF", "?x=1&topk=2"]))
    return "/predictions/" + name + query, body, headers


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(requests())
def test_fuzzed_requests_get_200_or_a_4xx_never_a_5xx(port, req):
    path, body, headers = req
    status, response_headers, out = request(port, "POST", path, body, headers)
    event("status %d" % status)  # --hypothesis-show-statistics shows the spread
    assert status in (200, 400, 401, 404, 413), (status, out)
    if status != 200 and response_headers.get("content-type") == "application/json":
        assert json.loads(out)["error"]


def test_the_server_still_answers_after_the_fuzzing(port):
    # runs after the fuzz test in file order: no 5xx counted, and a valid request works
    status, _, out = request(port, "POST", "/predictions/tiny", PNG, token=TOKEN)
    assert status == 200, out
    for code in ("500", "503", "504"):
        assert metric(port, "gluon_resnet_requests_total", TOKEN, model="tiny",
                      status=code) == 0
