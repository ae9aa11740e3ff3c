"""``nerve.wrappers`` (Keras 3 ``keras.wrappers``): scikit-learn estimators around nerve models.

Needs scikit-learn (``pip install nerve[sklearn]``); imported only when this module is used.
"""
from .sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
