"""VGG16 (Simonyan & Zisserman 2014) with Keras's layer names and parameter counts.

Five blocks of 3x3 'same' convolutions with ReLU (64, 64 | 128, 128 | 256 x 3 | 512 x 3 | 512 x 3), each
followed by 2x2 max pooling; the top is Flatten, fc1 4096, fc2 4096, predictions ``classes``.
Parameters: 138,357,544 with the top (224x224x3 input); 14,714,688 for the convolutional base (any input).
"""
import numpy as np

from .. import layers
from ..models import Model
from .common import check_input_shape, check_pooling, inputs_for, load_weights

BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def VGG16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    """Build VGG16 (Keras ``keras.applications.VGG16`` signature; channels_last)."""
    who = "VGG16"
    check_pooling(pooling, who)
    if include_top and input_shape is not None and tuple(input_shape) != (224, 224, 3):
        raise ValueError(f"{who}: with include_top=True the input_shape must be (224, 224, 3) (the dense top "
                         f"expects 7x7x512 features), got {input_shape!r}")
    default = (224, 224, 3) if include_top else (None, None, 3)
    shape = check_input_shape(input_shape, default, who, min_size=32)
    img = inputs_for(shape, input_tensor)
    x = img
    for b, (filters, n) in enumerate(BLOCKS, start=1):
        for i in range(1, n + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{b}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{b}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(img, x, name=name)
    return load_weights(model, weights, who)


def preprocess_input(x):
    """Keras 'caffe' preprocessing of RGB images in [0, 255]: RGB -> BGR, minus the ImageNet channel means."""
    x = np.asarray(x, dtype="float32")[..., ::-1]
    return x - np.array([103.939, 116.779, 123.68], dtype="float32")
