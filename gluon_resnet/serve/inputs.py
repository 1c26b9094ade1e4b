"""Request parsing and limits: the body read under a size cap, the image taken out of a
raw or multipart body, the bearer token checked, and the image decoded safely.

Every refusal is an :class:`HTTPError` with the status and a message for the client;
nothing here answers 500 for anything a client sends.
"""
import hmac
import io

import numpy as np

from ..data.images import _convert, _pil

__all__ = ["HTTPError", "read_body", "image_bytes", "decode_image", "check_token",
           "DEFAULT_MAX_PIXELS"]

#: Largest image (width x height) decoded; a bigger one is refused as a decompression
#: bomb before its pixels are decoded (a 6000 x 6000 photo is 36 million).
DEFAULT_MAX_PIXELS = 40_000_000


class HTTPError(Exception):
    """A request refused: ``status``, ``message`` and extra response ``headers``."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


async def read_body(request, max_bytes):
    """The request body, refused with 413 past ``max_bytes``.

    A ``Content-Length`` over the limit is refused before anything is read; a body sent
    without one (chunked) is counted as it streams and refused as soon as it passes.
    """
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPError(400, "Content-Length must be a number of bytes, got %r"
                            % length[:40])
        if int(length) > max_bytes:
            raise HTTPError(413, "the body is %s bytes; this server takes at most %d"
                            % (length, max_bytes))
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            raise HTTPError(413, "the body is over %d bytes, the most this server takes"
                            % max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def _one_chunk(body):
    yield body


async def image_bytes(request, body, max_bytes):
    """The image in ``body``: the body itself, or the one file of a multipart form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    from starlette.formparsers import MultiPartException, MultiPartParser
    parser = MultiPartParser(request.headers, _one_chunk(body), max_files=1, max_fields=8,
                             max_part_size=max_bytes)
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise HTTPError(400, "bad multipart body: %s" % err.message) from None
    except (ValueError, UnicodeError) as err:  # a malformed Content-Type or part header
        raise HTTPError(400, "bad multipart body: %s" % err) from None
    try:
        files = [v for _, v in form.multi_items() if not isinstance(v, str)]
        if len(files) != 1:
            raise HTTPError(400, "a multipart body must hold one file (the image), got %d"
                            % len(files))
        return await files[0].read()
    finally:
        await form.close()


def check_token(request, token):
    """401 unless ``Authorization: Bearer TOKEN`` names ``token`` (constant-time)."""
    if token is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    ok = hmac.compare_digest(value.strip().encode("utf-8", "replace"), token.encode("utf-8"))
    if scheme.lower() != "bearer" or not ok:
        raise HTTPError(401, "this server needs Authorization: Bearer <token>",
                        {"WWW-Authenticate": "Bearer"})


def _check_complete(Image, fmt, data):
    """Refuse a truncated file whatever ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` says (a
    process-wide switch other libraries turn on: GluonCV does on import)."""
    if fmt == "PNG":
        with Image.open(io.BytesIO(data), formats=["PNG"]) as check:
            check.verify()  # reads every chunk to IEND, checking CRCs
    elif fmt == "JPEG" and data.rfind(b"\xff\xd9") < data.find(b"\xff\xda"):
        raise OSError("image file is truncated (no end of image after the scan)")


def decode_image(data, channels, max_pixels=DEFAULT_MAX_PIXELS):
    """A PNG or JPEG body as a uint8 array of ``channels`` (1 or 3), or 400.

    The size is read from the header and checked against ``max_pixels`` before any
    pixel is decoded; a truncated or corrupt file is refused. The conversions are
    :func:`gluon_resnet.data.images.load_image`'s, so the server sees what ``predict``
    sees.
    """
    if not data:
        raise HTTPError(400, "the body is empty; send one PNG or JPEG image")
    Image, ImageOps = _pil()
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as img:
            if img.width * img.height > max_pixels:
                raise HTTPError(400, "the image is %d x %d pixels, over the %d this server "
                                "decodes (a decompression bomb?)"
                                % (img.width, img.height, max_pixels))
            _check_complete(Image, img.format, data)
            img.load()
            img = ImageOps.exif_transpose(img) if img.getexif() else img.copy()
        return np.ascontiguousarray(_convert(img, channels))
    except HTTPError:
        raise
    except Image.DecompressionBombError as err:
        raise HTTPError(400, "refused as a decompression bomb: %s" % err) from None
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, KeyError,
            IndexError, ZeroDivisionError, MemoryError) as err:
        # Pillow raises these for corrupt, truncated and unknown files.
        raise HTTPError(400, "the body is not a readable PNG or JPEG image (%s)"
                        % (str(err) or type(err).__name__)) from None
