"""Losses beyond Gluon's: softmax cross-entropy with label smoothing."""

from mxnet import gluon

from ..arrays import is_np_array

__all__ = ["SmoothedCrossEntropyLoss"]


class SmoothedCrossEntropyLoss(gluon.loss.Loss):
    """Softmax cross-entropy against labels smoothed towards the uniform distribution.

    With ``K`` classes the target is ``(1 - smoothing) * one_hot(label) + smoothing / K``,
    so the loss per example is ``(1 - smoothing) * -log p[label] + smoothing * mean_k
    -log p[k]`` (Szegedy et al., "Rethinking the Inception Architecture", 2016).
    Takes sparse integer labels, as ``SoftmaxCrossEntropyLoss``; hybridizable.
    """

    def __init__(self, smoothing, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        if not 0 <= smoothing < 1:
            raise ValueError("label_smoothing must be in [0, 1), got %r" % (smoothing,))
        self._smoothing = float(smoothing)

    def hybrid_forward(self, F, pred, label):
        if is_np_array():  # the numpy interface's operators (npx.set_np())
            log_softmax, pick, mean = F.npx.log_softmax, F.npx.pick, F.np.mean
        else:
            log_softmax, pick, mean = F.log_softmax, F.pick, F.mean
        logp = log_softmax(pred, axis=-1)
        nll = -pick(logp, label, axis=-1)
        uniform = -mean(logp, axis=-1)
        return (1 - self._smoothing) * nll + self._smoothing * uniform
