"""``gluon-resnet launch``: a ps-lite (or Horovod) job of several processes or machines."""
import argparse
import re

from .common import CLIError, _int_in


def _cmd_launch(args):
    from ..training.launcher import LaunchError, launch, read_hosts
    env = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise CLIError("--env takes NAME=VALUE, got %r" % item)
        env[name] = value
    try:
        if args.engine == "horovod" and args.servers is not None:
            raise CLIError("--servers is for the parameter server (--engine ps); Horovod "
                           "has no servers")
        hosts = read_hosts(args.hosts) if args.hosts else None
        return launch(args.command, args.workers, args.servers or 1, hosts=hosts,
                      port=args.port, env=env, ssh=args.ssh, interface=args.interface,
                      engine=args.engine)
    except LaunchError as err:
        raise CLIError(str(err)) from None


def add_parsers(sub):
    """``launch``."""
    p = sub.add_parser(
        "launch", help="train in several processes or machines (MXNet's parameter server)",
        description="Start a scheduler, servers and workers of a ps-lite job and run the "
        "command after -- in every worker, e.g. gluon-resnet launch --workers 2 -- train "
        "--kvstore dist_sync --epochs 5. Local processes on the loopback interface by "
        "default; with --hosts over ssh. Every worker's output is prefixed with its rank. "
        "When any process fails, all are stopped and the exit status is non-zero.")
    p.add_argument("--workers", "-n", type=_int_in(1, what="an integer"), required=True,
                   help="number of workers (training processes)")
    p.add_argument("--servers", "-s", type=_int_in(1, what="an integer"), default=None,
                   help="number of servers (default 1)")
    p.add_argument("--engine", choices=("ps", "horovod"), default="ps",
                   help="ps (default): MXNet's parameter server, for train --kvstore "
                   "dist_sync|dist_device_sync|dist_async; horovod: horovodrun --gloo, for "
                   "train --kvstore horovod (needs Horovod, see the README)")
    p.add_argument("--hosts", metavar="FILE", default=None,
                   help="machines for servers and workers, one per line, reached with "
                   "password-less ssh; each needs this Python, this package and the data "
                   "at the same paths (default: all on this machine)")
    p.add_argument("--port", type=_int_in(1, 65535, "a port"), default=None,
                   help="the scheduler's port (default: a free one)")
    p.add_argument("--interface", default=None,
                   help="network interface ps-lite binds (DMLC_INTERFACE; default lo "
                   "without --hosts)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set a variable in every process (repeatable)")
    p.add_argument("--ssh", default="ssh", help="ssh program (default ssh)")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="after --: the workers' command, a gluon-resnet subcommand "
                   "(train ...) or any program")
    p.set_defaults(func=_cmd_launch)
