"""``nerve.optimizers.legacy`` (``keras.optimizers.legacy``): Keras 3 keeps these names only to say that the
Keras 2 optimizers are gone. Creating one raises ImportError, as in Keras 3."""


class LegacyOptimizerWarning:
    def __init__(self, *args, **kwargs):
        raise ImportError("`keras.optimizers.legacy` is not supported in Keras 3 (nor in nerve): use the optimizers "
                          "of nerve.optimizers (e.g. nerve.optimizers.Adam), which follow Keras 3. Code that needs "
                          "the Keras 2 optimizers must run on `tf_keras` (Keras 2).")


Adagrad = Adam = Ftrl = RMSprop = SGD = Optimizer = LegacyOptimizerWarning

__all__ = ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]
