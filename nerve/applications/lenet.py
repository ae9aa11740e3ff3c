"""LeNet-5 (LeCun et al. 1998) as described in seed-002 §1.15: 32x32x1 input; 6 filters 5x5 -> 28x28x6;
average pooling 2 -> 14x14x6; 16 filters 5x5 -> 10x10x16; average pooling -> 5x5x16 = 400; FC 120, FC 84,
``classes`` outputs. 61,706 parameters with 10 classes (the book's "about 60k")."""
from .. import layers
from ..models import Model
from .common import check_input_shape, inputs_for, load_weights


def LeNet5(input_shape=None, classes=10, activation="tanh", classifier_activation="softmax", weights=None,
           input_tensor=None, name="lenet5"):
    shape = check_input_shape(input_shape, (32, 32, 1), "LeNet5", min_size=32 if input_shape is None else 12)
    img = inputs_for(shape, input_tensor)
    x = layers.Conv2D(6, 5, activation=activation, name="conv1")(img)
    x = layers.AveragePooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="conv2")(x)
    x = layers.AveragePooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=activation, name="fc1")(x)
    x = layers.Dense(84, activation=activation, name="fc2")(x)
    x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return load_weights(Model(img, x, name=name), weights, "LeNet5")
