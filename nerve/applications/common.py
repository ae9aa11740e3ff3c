"""Shared argument checks of the application builders."""
from .. import layers


def load_weights(model, weights, who):
    """weights=None: keep the initialisation; a path: ``model.load_weights(path)`` (a nerve archive)."""
    if weights is None:
        return model
    if weights == "imagenet":
        raise ValueError(f"{who}: weights='imagenet' needs a download, which nerve never does. Convert Keras or "
                         f"PyTorch weights once with nerve.applications.convert (see its docstring), save them "
                         f"with model.save_weights(path) and pass weights=path")
    if not isinstance(weights, str):
        raise ValueError(f"{who}: argument 'weights' expected None or the path of a weights file, got {weights!r}")
    model.load_weights(weights)
    return model


def check_pooling(pooling, who):
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{who}: argument 'pooling' expected None, 'avg' or 'max', got {pooling!r}")


def check_input_shape(input_shape, default, who, min_size=None, channels=None):
    """None -> default; else a 3-tuple (rows, cols, channels) checked against min_size / channels."""
    if input_shape is None:
        return tuple(default)
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"{who}: argument 'input_shape' expected (rows, cols, channels), got {input_shape!r}")
    if channels is not None and shape[2] != channels:
        raise ValueError(f"{who}: argument 'input_shape' expected {channels} channels, got {input_shape!r}")
    if min_size is not None and any(d is not None and d < min_size for d in shape[:2]):
        raise ValueError(f"{who}: argument 'input_shape' rows and cols must be at least {min_size}, got "
                         f"{input_shape!r}")
    return shape


def inputs_for(input_shape, input_tensor):
    return layers.Input(shape=input_shape) if input_tensor is None else input_tensor
