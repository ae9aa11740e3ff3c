"""``nerve.applications``: classic image-classification architectures (Keras ``keras.applications`` style).

``VGG16`` has Keras's layer names and parameter counts, so weights converted from Keras or PyTorch with
``nerve.applications.convert`` line up. ``LeNet5`` and ``AlexNet`` follow the seeds' descriptions
(seed-002 §1.15). ``weights`` is None (random initialisation) or the path of a nerve weights archive.
"""
from . import convert
from .alexnet import AlexNet
from .lenet import LeNet5
from .vgg16 import VGG16, preprocess_input

__all__ = ["AlexNet", "LeNet5", "VGG16", "convert", "preprocess_input"]
