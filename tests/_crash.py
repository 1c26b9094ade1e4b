"""Run the ``gluon-resnet`` command and kill it with SIGKILL at a chosen point (a test helper).

    python tests/_crash.py POINT [gluon-resnet arguments ...]

POINT is one of

- ``step=N``: as the N-th optimizer update starts (mid-epoch);
- ``write=N``: half-way through writing the N-th MXNet array file (``.params``,
  ``.states``), under its temporary name;
- ``rename=SUFFIX:N``: just before the N-th file whose name ends in SUFFIX is renamed
  into place (e.g. ``rename=checkpoint.json:2``: the second checkpoint is complete
  on disk but not yet committed);
- ``pause=PATH``: not killed, but at the first update writes PATH + ".paused" and
  waits until PATH exists (holding the run's lock, for tests of a second process: an
  event the test sets, not a time window);
- ``none``: not at all.

The library is not changed: this script patches the functions it names in its own
process, so the crash happens exactly there, and SIGKILL gives the process no chance to
clean up (as a power cut or the OOM killer would not).
"""
import os
import signal
import sys


def _die():
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _counting(original, when):
    count = [0]

    def wrapper(*args, **kwargs):
        if when(*args, **kwargs):
            count[0] += 1
            if count[0] == target:
                return hook(original, *args, **kwargs)
        return original(*args, **kwargs)
    return wrapper


def main():
    global target, hook
    point, argv = sys.argv[1], sys.argv[2:]
    import gluon_resnet  # noqa: F401  (before mxnet)
    from mxnet import gluon  # noqa: E402

    from gluon_resnet import cli, params
    if point.startswith("step="):
        target = int(point[5:])

        def hook(original, *args, **kwargs):
            _die()
        gluon.Trainer.step = _counting(gluon.Trainer.step, lambda *a, **k: True)
    elif point.startswith("write="):
        target = int(point[6:])

        def hook(original, f, arrays):
            original(f, arrays)
            f.flush()
            f.truncate(f.tell() // 2)
            f.flush()
            os.fsync(f.fileno())
            _die()
        params._write_array_file = _counting(params._write_array_file, lambda *a: True)
    elif point.startswith("rename="):
        suffix, n = point[7:].rsplit(":", 1)
        target = int(n)

        def hook(original, src, dst):
            _die()
        os.replace = _counting(os.replace, lambda src, dst: str(dst).endswith(suffix))
    elif point.startswith("pause="):
        import time
        target, release = 1, point[6:]

        def hook(original, *args, **kwargs):
            open(release + ".paused", "w").close()
            while not os.path.exists(release):
                time.sleep(0.05)
            return original(*args, **kwargs)
        gluon.Trainer.step = _counting(gluon.Trainer.step, lambda *a, **k: True)
    elif point != "none":
        raise SystemExit("unknown crash point %r" % point)
    code = cli.main(argv)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
