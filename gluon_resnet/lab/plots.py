"""Plots of the lab's measurements, each drawn on an axes the caller gives."""


__all__ = ["plot_gradient_norms", "plot_layer_responses", "plot_degradation"]


def _colors(n):
    from matplotlib import cm
    return [cm.tab10(i % 10) for i in range(n)]


def plot_gradient_norms(ax, norms):
    """Per-layer gradient RMS (log scale) against layer index, one line per net.

    ``norms``: ``{label: gradient_norms(...) result}``."""
    for color, (label, result) in zip(_colors(len(norms)), norms.items()):
        values = [r["grad_rms"] for r in result["layers"]]
        ax.plot(range(1, len(values) + 1), values, color=color, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer (input to output)")
    ax.set_ylabel("weight-gradient RMS")
    ax.legend(fontsize="small")


def plot_layer_responses(ax, responses, sort=False):
    """The paper's Fig. 7: std of each layer's response against layer index (or sorted
    by magnitude, ``sort=True``), one line per net. ``responses``: ``{label:
    layer_responses(...) result}``."""
    for color, (label, rows) in zip(_colors(len(responses)), responses.items()):
        values = [r["std"] for r in rows]
        if sort:
            values = sorted(values, reverse=True)
        ax.plot(range(1, len(values) + 1), values, color=color, label=label)
    ax.set_xlabel("layer index (sorted by magnitude)" if sort else "layer index (original)")
    ax.set_ylabel("std")
    ax.legend(fontsize="small")


def plot_degradation(ax, results, percent=True):
    """The paper's Fig. 6: training error (dashed) and test error (solid) against
    epochs, one colour per net. ``results``: what :func:`degradation` returns."""
    scale = 100 if percent else 1
    for color, (label, r) in zip(_colors(len(results)), results.items()):
        epochs = range(1, len(r["train_error"]) + 1)
        ax.plot(epochs, [e * scale for e in r["train_error"]], "--", color=color)
        ax.plot(epochs, [e * scale for e in r["test_error"]], "-", color=color, lw=2,
                label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)" if percent else "error")
    ax.legend(fontsize="small", title="dashed: training, solid: test",
              title_fontsize="small")
