"""The model registry: ``register_model``, ``get_model`` and ``list_models``."""
import difflib

_MODELS = {}


def register_model(fn):
    """Register a model factory under its function name.

    Parameters
    ----------
    fn : callable
        A factory ``fn(**kwargs) -> HybridBlock``; its ``__name__`` is the model name.

    Returns
    -------
    callable
        ``fn`` itself, so this works as a decorator.

    Raises
    ------
    ValueError
        If a model of the same name is already registered.
    """
    name = fn.__name__
    if name in _MODELS:
        raise ValueError("a model named %r is already registered (by %s.%s)"
                         % (name, _MODELS[name].__module__, _MODELS[name].__qualname__))
    _MODELS[name] = fn
    return fn


def list_models():
    """Return the names of all registered models, sorted."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Build a registered model by name.

    Parameters
    ----------
    name : str
        A name from :func:`list_models`, e.g. ``"resnet50"``.
    **kwargs
        Passed to the factory (``classes``, ``in_channels``, ``thumbnail``, ``ctx``,
        ``pretrained``, ``hybridize``, ...).

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the closest names.
    """
    try:
        factory = _MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(unknown_model_message(name)) from None
    return factory(**kwargs)


def unknown_model_message(name):
    """The error text for an unknown model name, with close matches."""
    close = difflib.get_close_matches(str(name), list(_MODELS), n=5, cutoff=0.5)
    hint = ("did you mean %s?" % ", ".join(close)) if close else \
        "see gluon_resnet.list_models() for all %d names" % len(_MODELS)
    return "unknown model %r; %s" % (name, hint)
