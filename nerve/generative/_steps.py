"""Pieces shared by the custom ``train_step``/``test_step`` of the generative models (GAN, VAE,
ContractiveAutoencoder): unpacking a batch, choosing the variables to update, one gradient update."""
from .. import backend


def unpack_x(data, dtype):
    """The inputs of a fit/evaluate batch as an array of ``dtype`` (targets and sample weights ignored)."""
    from ..training.data_adapter import unpack_x_y_sample_weight
    x, _, _ = unpack_x_y_sample_weight(data)
    return backend.as_array(x, dtype=dtype)  # NumPy or CuPy, where the batch is


def gradient_variables(model, x):
    """The compile-time trainable variables of ``model`` (flags set by ``model._set_gradient_flags``),
    building the model on ``x`` first when it has no weights yet."""
    variables = model._set_gradient_flags()
    if variables is None:
        with backend.no_grad():
            model(x, training=False)
        variables = model._set_gradient_flags()
    return variables


def backward_and_apply(loss, variables, optimizer, skip_missing=False):
    """Clear the grads of ``variables``, backpropagate ``loss`` and apply one ``optimizer`` update. With
    ``skip_missing`` the variables that received no gradient are left out of the update."""
    from ..optimizers.base import backward_scaled
    for v in variables:
        v.grad = None
    backward_scaled(optimizer, loss)  # optimizer.apply divides the gradients by the same scale
    if skip_missing:
        variables = [v for v in variables if v.grad is not None]
    optimizer.apply([v.grad for v in variables], variables)
