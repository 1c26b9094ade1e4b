"""A worker of the distributed tests, started by ``gluon-resnet launch``.

    python tests/_dist_worker.py train OUT.params --init INIT.params --epochs E
        [--checkpoint DIR [--resume]] [--stop-after K] [--np] [--batch B] [--num N]
    python tests/_dist_worker.py hello [RANK STATUS]      # rank, a sum, BatchNorm
                                                          # statistics; RANK exits STATUS
    python tests/_dist_worker.py forever PIDFILE_PREFIX   # steps until killed

``train`` trains :func:`net` (no BatchNorm, so that the global batch's gradient does not
depend on how it is split) on the first N Fashion-MNIST training images with
``train(..., kvstore='dist_sync')``, and rank 0 saves the parameters to OUT.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gluon_resnet  # noqa: E402,F401
import mxnet as mx  # noqa: E402
from gluon_resnet.arrays import as_current  # noqa: E402
from gluon_resnet.params import load_parameters, save_parameters  # noqa: E402
from mxnet import gluon  # noqa: E402

BATCH, NUM = 16, 256
SETTINGS = dict(optimizer="sgd", momentum=0.9, wd=1e-4, schedule="cosine", warmup_steps=3,
                final_lr=0.01)
LR = 0.1


def net():
    """A small convnet without BatchNorm, initialised (deferred shapes resolved)."""
    n = gluon.nn.HybridSequential()
    n.add(gluon.nn.Conv2D(8, 3, activation="relu"), gluon.nn.MaxPool2D(2),
          gluon.nn.Conv2D(16, 3, activation="relu"), gluon.nn.MaxPool2D(2),
          gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(10))
    n.initialize(mx.init.Xavier())
    n(as_current(mx.nd.zeros((1, 1, 28, 28))))
    return n


def data(num, batch, order=None):
    """An ImageArrayIter over the first ``num`` training images (in ``order`` if given)."""
    from gluon_resnet.data import ImageArrayIter, read_fashion_mnist
    images, labels = read_fashion_mnist(os.environ["FASHION_MNIST_DIR"], train=True,
                                        download=False)
    images, labels = images[:num], labels[:num]
    if order is not None:
        images, labels = images[order], labels[order]
    return ImageArrayIter(images, labels, batch, mean=0.286, std=0.353)


class StopAfter:
    """Stop training (as an interruption would) once ``epochs`` epochs are done."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, state):
        if self.epochs is not None and state.epoch + 1 >= self.epochs:
            state.stop_training = True


def main(argv):
    from gluon_resnet.training import train
    p = argparse.ArgumentParser()
    p.add_argument("job")
    p.add_argument("args", nargs="*")
    p.add_argument("--init")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--checkpoint")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--stop-after", type=int, default=None, help="epochs, then stop")
    p.add_argument("--np", action="store_true")
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--num", type=int, default=NUM)
    p.add_argument("--kvstore", default="dist_sync")
    a = p.parse_args(argv)
    if a.job == "hello":
        from gluon_resnet.training.distributed import Distributed
        d = Distributed("dist_sync")
        total, = d.totals([d.rank + 1])
        print("hello from rank %d of %d on %s, sum %g" % (d.rank, d.num_workers,
              os.environ.get("DMLC_ROLE"), total), flush=True)
        bn = gluon.nn.BatchNorm(in_channels=3)
        bn.initialize()
        bn.running_mean.set_data(mx.nd.full((3,), d.rank + 1))
        bn.running_var.set_data(mx.nd.full((3,), 10 * (d.rank + 1)))
        d.average_running_stats(bn)
        print("running statistics %s %s" % (bn.running_mean.data().asnumpy().tolist(),
                                             bn.running_var.data().asnumpy().tolist()), flush=True)
        if a.args and d.rank == int(a.args[0]):
            print("rank %d gives up" % d.rank, flush=True)
            os._exit(int(a.args[1]))  # as a crash would: no goodbye to the job
        return
    if a.job == "forever":
        from gluon_resnet.training.distributed import Distributed
        d = Distributed("dist_sync")
        with open("%s.%d" % (a.args[0], d.rank), "w") as f:
            f.write(str(os.getpid()))
        x = mx.nd.ones((1000,))
        while True:
            d.allreduce("x", [x])
            x.wait_to_read()
    if a.np:
        mx.npx.set_np()
    n = net()
    load_parameters(n, a.init)
    if a.np:
        n.hybridize()
    history = train(n, data(a.num, a.batch), None, a.epochs, LR, kvstore=a.kvstore,
                    checkpoint_dir=a.checkpoint, resume=a.resume, seed=0,
                    callbacks=[StopAfter(a.stop_after)], **SETTINGS)
    from gluon_resnet.training.distributed import Distributed
    if Distributed(a.kvstore).rank == 0:
        save_parameters(n, a.args[0])
        print("loss", history.loss, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
