"""``gluon-resnet serve``: exported models over HTTP (:mod:`gluon_resnet.serve`)."""
import signal
import sys

from .common import CLIError, _float_in, _int_in


def _read_token(path):
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, UnicodeError) as err:
        raise CLIError("cannot read --token-file %s: %s" % (path, err)) from None
    if not token:
        raise CLIError("--token-file %s is empty; put the bearer token in it" % path)
    return token


def _bind(host, port):
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then;
    # without it a keep-alive response waits for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections made before uvicorn starts wait, not fail
    except OSError as err:
        sock.close()
        raise CLIError("cannot listen on %s:%d: %s" % (host, port, err.strerror or err)) \
            from None
    return sock


def _cmd_serve(args):
    from .. import serve
    token = _read_token(args.token_file) if args.token_file else None
    try:
        app = serve.create_app(
            args.models, max_batch_size=args.max_batch_size, max_delay_ms=args.max_delay_ms,
            max_request_bytes=args.max_request_bytes, queue_size=args.queue_size,
            timeout_s=args.timeout_s, token=token, max_pixels=args.max_pixels)
    except (OSError, ValueError, ImportError) as err:
        raise CLIError(str(err)) from None
    import uvicorn
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    names = ", ".join(app.state.models)
    print("serving %s on http://%s:%d (batches of up to %d, %g ms delay)"
          % (names, host if ":" not in host else "[%s]" % host, port, args.max_batch_size,
             args.max_delay_ms), file=sys.stderr, flush=True)
    # uvicorn handles SIGTERM and SIGINT: it stops accepting, lets every request in
    # flight (and so every queued one) be answered, then runs the app's shutdown. It
    # then raises the signal again under the handler it found: for SIGTERM that is a
    # no-op here, so a drained server exits 0.
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, lifespan="on",
                                           access_log=args.log_level == "info"))
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def add_parsers(sub):
    """``serve``."""
    p = sub.add_parser("serve", help="serve exports over HTTP (TorchServe's routes, dynamic "
                       "batching, Prometheus metrics, a page to drop an image on)",
                       description="Serve exported models (any format `gluon-resnet export` "
                       "writes) over HTTP: POST /predictions/NAME with a PNG or JPEG body "
                       "(raw or multipart) answers the top classes as JSON; GET /ping, "
                       "/ready, /models, /metrics and / (a page). SIGTERM stops accepting, "
                       "answers every queued request and exits 0.")
    p.add_argument("models", metavar="PREFIX[=NAME]", nargs="+",
                   help="an export prefix (its PREFIX-meta.json is read), served as NAME "
                   "(default the prefix's file name)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1, this machine only; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=_int_in(0, 65535, "a port"), default=8080,
                   help="default 8080; 0 picks a free one (printed on start)")
    p.add_argument("--max-batch-size", type=_int_in(1, 1024, "an integer"), default=1,
                   help="most requests run together per model (default 1: no batching)")
    p.add_argument("--max-delay-ms", type=_float_in(0, 60000), default=5.0,
                   help="longest a request waits for others to batch with, from its "
                   "arrival (default 5; only used with --max-batch-size > 1)")
    p.add_argument("--max-request-bytes", type=_int_in(1, what="a number of bytes"),
                   default=8 * 1024 * 1024, help="larger bodies get 413 (default 8 MB)")
    p.add_argument("--max-pixels", type=_int_in(1, what="a number of pixels"),
                   default=40_000_000, help="larger images get 400 before they are "
                   "decoded (default 40 million)")
    p.add_argument("--queue-size", type=_int_in(1, what="an integer"), default=100,
                   help="waiting requests per model past which new ones get 503 "
                   "(default 100)")
    p.add_argument("--timeout-s", type=_float_in(0.001), default=30.0,
                   help="requests not answered by then get 504 (default 30)")
    p.add_argument("--token-file", default=None, help="a file holding a bearer token: "
                   "predictions, /models and /metrics then need 'Authorization: Bearer "
                   "TOKEN'")
    p.add_argument("--log-level", choices=("warning", "info", "debug"), default="warning",
                   help="uvicorn's log level; info logs every request (default warning)")
    p.set_defaults(func=_cmd_serve)
