"""``gluon-resnet launch``: start a ps-lite job (scheduler, servers, workers) and watch it.

MXNet's own ``tools/launch.py`` no longer runs on Python >= 3.9, and a ps-lite job has
no timeouts: a worker that dies leaves the others blocked forever. This launcher

* starts one scheduler, ``servers`` servers and ``workers`` workers, each with the
  ``DMLC_*`` variables of its role (:mod:`gluon_resnet.training.distributed`): as local processes
  talking over the loopback interface, or, with a hosts file, over ``ssh`` (the
  scheduler stays on this machine);
* prints every line of every process, prefixed with its role and, for workers, the
  rank ps-lite gave it (workers get ranks in the order they connect, not the order
  they were started: a worker's lines are held back until it reports its rank);
* supervises: when any process exits with an error or is killed, it stops all the
  others (SIGTERM, then SIGKILL after a few seconds) and exits non-zero, naming the
  process; scheduler and servers still running 30 s after the workers are done are
  stopped too; Ctrl-C (or SIGTERM to
  the launcher) stops everything the same way. Local processes also get SIGTERM from
  the kernel if the launcher itself is killed.

The launcher's signal handlers only set a flag that the supervising loop reads: an
exception raised from a handler can land inside ``Popen.poll()`` after it took the
``Popen``'s internal lock, which then stays held and makes the next ``wait()`` block for
ever (a Ctrl-C that once left the launcher running).

Each process runs in a session of its own, so stopping one stops whatever it started.
"""
import collections
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

from .distributed import LAUNCH_ENV, RANK_MARK

__all__ = ["launch", "read_hosts", "worker_command", "LaunchError"]

_SUBCOMMANDS = ("train", "evaluate", "export", "predict", "models", "info", "lab")
_HOST = re.compile(r"^[A-Za-z0-9_.@:%\[\]-]+$")
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
SERVER_GRACE = 30.0  # seconds servers and scheduler get to end after the workers


class LaunchError(ValueError):
    """Bad launcher arguments (a hosts file, counts)."""


def read_hosts(path):
    """The hosts of a hosts file: one name or address per line (``user@`` allowed);
    blank lines and ``#`` comments are skipped."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise LaunchError("cannot read the hosts file %s: %s" % (path, err.strerror)) from None
    hosts = []
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not _HOST.match(line):
            raise LaunchError("%s line %d: expected one host name or address per line, got %r"
                              % (path, number, line))
        hosts.append(line)
    if not hosts:
        raise LaunchError("the hosts file %s names no host" % path)
    return hosts


def worker_command(args):
    """The worker's command line: a ``gluon-resnet`` subcommand (``train ...``) runs as
    ``python -m gluon_resnet train ...`` and ``python ...`` as ``python ...``, both with
    this Python (``sys.executable``); anything else runs as given."""
    args = list(args)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        raise LaunchError("give the workers' command after --, e.g. "
                          "gluon-resnet launch --workers 2 -- train --kvstore dist_sync")
    if args[0] in ("gluon-resnet", "gluon_resnet"):
        args = args[1:]
    if args and args[0] in _SUBCOMMANDS:
        return [sys.executable, "-m", "gluon_resnet"] + args
    if args and args[0] in ("python", "python3"):  # this Python (its packages)
        return [sys.executable] + args[1:]
    return args


def free_port(address="127.0.0.1"):
    """A TCP port nobody listens on now (the scheduler binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _address_towards(host):
    """This machine's address on the route to ``host`` (no packet is sent)."""
    name = host.rsplit("@", 1)[-1]
    if name in ("localhost", "127.0.0.1"):
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((name, 9))
        return s.getsockname()[0]


def _set_pdeathsig():
    """In the child: get SIGTERM if the launcher dies (Linux), so nothing is left behind."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Process:
    def __init__(self, role, index, host, argv, env):
        self.role, self.index, self.host = role, index, host
        self.rank = None
        self.held = []  # a worker's lines before it reports its rank
        self.argv, self.env = argv, env
        self.popen = None
        self.reader = None

    def label(self):
        if self.role == "worker":
            return "worker %s" % (self.rank if self.rank is not None else "#%d" % self.index)
        return "server %d" % self.index if self.role == "server" else self.role

    def describe(self):
        where = "" if self.host is None else " on %s" % self.host
        if self.role == "worker":
            rank = "rank %d, " % self.rank if self.rank is not None else "rank not yet known, "
            return "worker (%sstarted #%d of its kind%s, pid %d)" % (
                rank, self.index, where, self.popen.pid)
        return "%s (pid %d%s)" % (self.label(), self.popen.pid, where)


class _Job:
    def __init__(self, procs, out):
        self.procs, self.out = procs, out
        self.lock = threading.Lock()
        self.interrupted = threading.Event()  # set by the signal handlers (Ctrl-C, SIGTERM)

    def _write(self, proc, line):
        with self.lock:
            if proc.role == "horovodrun":  # its lines carry their ranks already
                self.out.write(line + "\n")
            else:
                self.out.write("[%s] %s\n" % (proc.label(), line))
            self.out.flush()

    def read(self, proc):
        for raw in iter(proc.popen.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if proc.role == "worker" and line.startswith(RANK_MARK):
                try:
                    proc.rank = int(line[len(RANK_MARK):].split()[0])
                except (ValueError, IndexError):
                    pass
                for held in proc.held:
                    self._write(proc, held)
                proc.held = []
                continue
            if proc.role == "worker" and proc.rank is None:
                proc.held.append(line)
            else:
                self._write(proc, line)
        for held in proc.held:
            self._write(proc, held)
        proc.held = []

    def start(self):
        for proc in self.procs:
            proc.popen = subprocess.Popen(
                proc.argv, env=proc.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_set_pdeathsig if proc.host is None else None)
        for proc in self.procs:  # threads only once every process is started
            proc.reader = threading.Thread(target=self.read, args=(proc,), daemon=True)
            proc.reader.start()

    def stop(self):
        """SIGTERM every process still running (its whole session), then SIGKILL."""
        running = [p for p in self.procs if p.popen is not None and p.popen.poll() is None]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in running:
                try:
                    os.killpg(p.popen.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + STOP_GRACE
            while time.time() < deadline and any(p.popen.poll() is None for p in running):
                time.sleep(0.05)
            running = [p for p in running if p.popen.poll() is None]
            if not running:
                break
        for p in self.procs:
            if p.popen is not None:
                try:  # whatever the process started in its session
                    os.killpg(p.popen.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    p.popen.wait(timeout=STOP_GRACE)
                except subprocess.TimeoutExpired:  # not reaped yet: say so, do not hang
                    pass
                if p.reader is not None:
                    p.reader.join(timeout=2)

    def supervise(self):
        """Wait for the job; returns (exit status, message or None)."""
        training = ("worker", "horovodrun")  # (horovodrun ends when its workers do)
        workers = [p for p in self.procs if p.role in training]
        others = [p for p in self.procs if p.role not in training]
        workers_done = None
        while True:
            if self.interrupted.is_set():
                return 130, "interrupted"
            for p in self.procs:
                # The scheduler and servers end (status 0) once every worker has left
                # the job, which may be a moment before the workers' processes end.
                rc = p.popen.poll()
                if rc is None or rc == 0:
                    continue
                if rc < 0:
                    name = signal.Signals(-rc).name
                    return 128 - rc, "%s was killed by %s" % (p.describe(), name)
                return rc, "%s exited with status %d" % (p.describe(), rc)
            if workers_done is None and all(p.popen.poll() == 0 for p in workers):
                workers_done = time.time()
            if workers_done is not None:
                if all(p.popen.poll() is not None for p in others):
                    return 0, None
                if time.time() - workers_done > SERVER_GRACE:
                    return 0, ("the workers finished; the scheduler and servers did not end "
                               "within %.0f s and were stopped" % SERVER_GRACE)
            self.interrupted.wait(0.1)

    def handle_signals(self):
        """Ctrl-C and SIGTERM set :attr:`interrupted` (nothing is raised inside
        ``Popen``'s code); returns the handlers to put back. Only the main thread can
        set handlers: elsewhere this does nothing and returns ``{}``."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def interrupt(signum, frame):
            self.interrupted.set()
        return {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}


def _horovodrun():
    here = os.path.join(os.path.dirname(sys.executable), "horovodrun")
    found = here if os.path.exists(here) else shutil.which("horovodrun")
    if not found:
        raise LaunchError("--engine horovod needs Horovod (horovodrun): HOROVOD_WITH_MXNET=1 "
                          "HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 pip install "
                          "--no-build-isolation 'horovod==0.28.1'")
    return found


def horovod_command(argv, workers, hosts=None, interface=None):
    """``horovodrun --gloo`` running ``argv`` as ``workers`` processes (over ``hosts``,
    taken in turn, through horovodrun's own ssh)."""
    if hosts:
        counts = collections.Counter(hosts[i % len(hosts)] for i in range(workers))
        spec = ",".join("%s:%d" % (h, n) for h, n in counts.items())
    else:
        spec = "localhost:%d" % workers
    cmd = [_horovodrun(), "--gloo", "-np", str(workers), "-H", spec]
    if interface:
        cmd += ["--network-interface", interface]
    return cmd + argv


def launch(command, workers, servers=1, hosts=None, port=None, env=None, ssh="ssh",
           interface=None, out=None, err=None, engine="ps"):
    """Run ``command`` as ``workers`` workers of a ps-lite job with ``servers`` servers.

    Parameters
    ----------
    command : list of str
        The workers' command: a ``gluon-resnet`` subcommand (``["train", "--kvstore",
        "dist_sync", ...]``) or any program (see :func:`worker_command`).
    workers, servers : int
    hosts : list of str, optional
        Machines for servers and workers, taken in turn (worker ``i`` on ``hosts[i %
        len(hosts)]``), reached with ``ssh HOST 'cd CWD && env ... COMMAND'``: every
        host needs this Python, this package and the data at the same paths, and
        password-less ssh. The scheduler runs here. Default: local processes on the
        loopback interface.
    port : int, optional
        The scheduler's port (default: a free one).
    env : dict, optional
        More environment variables for every process (e.g. ``DMLC_INTERFACE``).
    ssh : str
        The ssh program.
    interface : str, optional
        ``DMLC_INTERFACE`` (the network interface ps-lite binds); default ``lo`` for
        local jobs, ps-lite's choice (the first one that is up) with hosts.
    out, err : file, optional
        Where the processes' lines and the launcher's own messages go (default
        stdout, stderr).
    engine : {'ps', 'horovod'}
        ``'horovod'`` runs the workers with ``horovodrun --gloo`` instead (no scheduler
        or servers; hosts are reached by horovodrun's own ssh). Its lines come prefixed
        by horovodrun (``[rank]<stdout>:``); stopping on a failure is horovodrun's.

    Returns
    -------
    int
        0 when every worker exited 0; else non-zero (the failed process's status, or
        128 + signal number, 130 when interrupted).
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    for name, value, low in (("workers", workers, 1), ("servers", servers, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise LaunchError("--%s must be an integer >= %d, got %r" % (name, low, value))
    argv = worker_command(command)
    if port is not None and not 0 < port < 65536:
        raise LaunchError("--port must be in 1-65535, got %r" % (port,))
    if engine not in ("ps", "horovod"):
        raise LaunchError("--engine must be ps or horovod, got %r" % (engine,))
    if engine == "horovod" and port is not None:
        raise LaunchError("--port is the parameter server's scheduler port (--engine ps); "
                          "horovodrun picks its own")
    local = not hosts
    common = {"PYTHONUNBUFFERED": "1", LAUNCH_ENV: uuid.uuid4().hex}
    common.update(env or {})
    serve = [sys.executable, "-c", "import gluon_resnet"]  # serves inside MXNet's import

    threads = {}
    if "OMP_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in common:
        cores = os.cpu_count() or 1
        per_host = workers if local else -(-workers // len(hosts))
        threads = {"worker": str(max(1, cores // per_host)), "server": "1", "scheduler": "1"}

    def process(role, index, host, cmd):
        extra = dict(common, DMLC_ROLE=role)
        if role in threads:
            extra["OMP_NUM_THREADS"] = threads[role]
        if host is None:
            return _Process(role, index, None, cmd, dict(os.environ, **extra))
        remote = "cd %s && env %s %s" % (
            shlex.quote(os.getcwd()),
            " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(extra.items())),
            " ".join(shlex.quote(a) for a in cmd))
        return _Process(role, index, host, [ssh, "-tt", "-o", "BatchMode=yes", host, remote],
                        dict(os.environ))

    if engine == "horovod":  # no scheduler, no servers, no DMLC_* variables
        extra = {k: v for k, v in common.items() if not k.startswith("DMLC_")}
        if "worker" in threads:
            extra["OMP_NUM_THREADS"] = threads["worker"]
        cmd = horovod_command(argv, workers, hosts, None if local else interface)
        procs = [_Process("horovodrun", 0, None, cmd, dict(os.environ, **extra))]
    else:
        port = port or free_port("127.0.0.1" if local else "")
        interface = interface or ("lo" if local else None)
        dmlc = {"DMLC_PS_ROOT_URI": "127.0.0.1" if local else _address_towards(hosts[0]),
                "DMLC_PS_ROOT_PORT": str(port), "DMLC_NUM_SERVER": str(servers),
                "DMLC_NUM_WORKER": str(workers)}
        if interface:
            dmlc["DMLC_INTERFACE"] = interface
        common = dict(dmlc, **common)  # the user's --env last, as it came
        procs = [process("scheduler", 0, None, serve)]
        procs += [process("server", i, None if local else hosts[i % len(hosts)], serve)
                  for i in range(servers)]
        procs += [process("worker", i, None if local else hosts[i % len(hosts)], argv)
                  for i in range(workers)]
    job = _Job(procs, out)
    previous = job.handle_signals()
    try:
        try:
            job.start()
            status, message = job.supervise()
        except KeyboardInterrupt:  # a Ctrl-C before the handlers were in place
            status, message = 130, "interrupted"
        if message:
            stopping = [p for p in procs if p.popen is not None and p.popen.poll() is None]
            what = ("; stopping the other %d processes" % len(stopping)) if stopping else ""
            print("gluon-resnet launch: %s%s" % (message, what), file=err, flush=True)
        job.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
