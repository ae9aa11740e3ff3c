"""AlexNet (Krizhevsky et al. 2012) as in seed-002 Table 7.1, single-tower: 227x227x3 input;
conv1 96 11x11 stride 4 -> 55x55x96, max-pool 3x3/2 -> 27; conv2 256 5x5 'same' -> max-pool -> 13;
conv3 384, conv4 384, conv5 256 (3x3 'same') -> max-pool -> 6x6x256 = 9216; dropout, fc6 4096, dropout,
fc7 4096, fc8 ``classes``. The local response normalisation ("Norm") layers have no parameters and are
left out. Parameters: 62,378,344 with biases; the book's 62,369,152 omits the 9,192 biases of fc6-fc8.
"""
from .. import layers
from ..models import Model
from .common import check_input_shape, check_pooling, inputs_for, load_weights


def AlexNet(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
            classifier_activation="softmax", dropout=0.5, name="alexnet"):
    check_pooling(pooling, "AlexNet")
    shape = check_input_shape(input_shape, (227, 227, 3) if include_top else (None, None, 3), "AlexNet",
                              min_size=63)
    img = inputs_for(shape, input_tensor)
    x = layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1")(img)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.Conv2D(256, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dropout(dropout, name="drop6")(x)
        x = layers.Dense(4096, activation="relu", name="fc6")(x)
        x = layers.Dropout(dropout, name="drop7")(x)
        x = layers.Dense(4096, activation="relu", name="fc7")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="fc8")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    return load_weights(Model(img, x, name=name), weights, "AlexNet")
