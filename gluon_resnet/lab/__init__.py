"""Why residual learning works, measured with the library's own models and data.

The three claims ResNet is taught with, each as a function:

1. **Gradients.** In a deep plain net the chain rule multiplies the layers' derivatives,
   so gradients shrink or grow with depth; a shortcut turns the product into a sum
   (``dH/dx = dF/dx + 1``). :func:`gradient_norms` gives each layer's gradient RMS for
   one batch, and :func:`layer_responses` the spread of each layer's output (He et al.
   2015, Fig. 7: residual branches respond less than plain layers).
2. **Shattered gradients.** As plain nets deepen, the gradients of nearby inputs stop
   being correlated and look like white noise (Balduzzi et al. 2017);
   :func:`gradient_correlation` measures it.
3. **Degradation.** Deeper plain nets train *worse*, on the training data too (He et al.
   2015, Fig. 1 and 6); :func:`degradation` trains nets side by side on the same data,
   schedule and seed. A deeper net could copy a shallower one if its extra layers were
   the identity: :func:`deepen` builds exactly that net (with :class:`Identity`
   convolutions), which SGD from scratch does not find.

Nothing here prints or plots (the ``plot_*`` functions draw on an axes you give them);
nets are measured as they are and left as they were: hybridization, BatchNorm running
statistics and parameters are restored after a measurement that runs in training mode
(only the parameters' gradient buffers are overwritten).
"""
from .degradation import (DEGRADATION_SCHEDULE, Identity, deepen, degradation,  # noqa: F401
                          history_errors)
from .measures import gradient_correlation, gradient_norms, layer_responses  # noqa: F401
from .plots import plot_degradation, plot_gradient_norms, plot_layer_responses  # noqa: F401

__all__ = ["Identity", "gradient_norms", "gradient_correlation", "layer_responses",
           "degradation", "history_errors", "deepen", "DEGRADATION_SCHEDULE",
           "plot_gradient_norms", "plot_layer_responses", "plot_degradation"]
