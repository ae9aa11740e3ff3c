"""More keras.io Keras 3 examples run with `import keras` replaced by `import nerve as keras` (see
tests/test_keras_scripts.py). Each test body is the example's model and training code as keras.io shows it;
only the data loading is replaced by small synthetic arrays (or small synthetic image files), and the epochs,
sizes and lengths are cut so that each runs in seconds on a CPU. Checks: what the example prints or shows
(shapes, parameter counts computed from the layer formulas) and that it learns."""
import os

import numpy as np
import pytest

import nerve as keras
from nerve import layers, ops


# ----------------------------------------------------------------------------------------------------------------
# 1. keras.io/examples/vision/image_classification_from_scratch (Keras 3 version, fchollet, last modified
#    2023/11/09). The Cats vs Dogs JPEGs are replaced by 32x32 synthetic PNGs written under PetImages/Cat and
#    PetImages/Dog (cats dark, dogs bright, with noise), instead of 180x180; the architecture is unchanged.
# ----------------------------------------------------------------------------------------------------------------
data_augmentation_layers = [
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)

    # Entry block
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(128, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    for size in [256, 512, 728]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(
            previous_block_activation
        )
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    x = layers.SeparableConv2D(1024, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.GlobalAveragePooling2D()(x)
    if num_classes == 2:
        units = 1
    else:
        units = num_classes

    x = layers.Dropout(0.25)(x)
    # We specify activation=None so as to return logits
    outputs = layers.Dense(units, activation=None)(x)
    return keras.Model(inputs, outputs)


def _write_synthetic_pet_images(root, n_per_class, size, rng):
    """Stands in for the Kaggle download: PetImages/<Cat|Dog>/<i>.png, cats dark, dogs bright."""
    for name, level in (("Cat", 60), ("Dog", 190)):
        folder = os.path.join(root, "PetImages", name)
        os.makedirs(folder)
        for i in range(n_per_class):
            img = np.clip(level + rng.normal(0, 40, (size, size, 3)), 0, 255).astype("uint8")
            keras.utils.save_img(os.path.join(folder, f"{i}.png"), img)


class AugmentedDataset(keras.utils.PyDataset):
    """The example's `train_ds.map(lambda img, label: (data_augmentation(img), label))` is tf.data; a Keras 3
    PyDataset wrapping the image dataset does the same on any backend."""

    def __init__(self, ds, **kwargs):
        super().__init__(**kwargs)
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, index):
        img, label = self.ds[index]
        return data_augmentation(img), label


def test_image_classification_from_scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_synthetic_pet_images(str(tmp_path), 24, 32, np.random.default_rng(0))

    image_size = (32, 32)  # the example: (180, 180)
    batch_size = 16  # the example: 128

    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        "PetImages",
        validation_split=0.2,
        subset="both",
        seed=1337,
        image_size=image_size,
        batch_size=batch_size,
    )
    images, labels = train_ds[0]
    assert tuple(images.shape) == (batch_size, 32, 32, 3) and tuple(labels.shape) == (batch_size,)
    assert train_ds.class_names == ["Cat", "Dog"]

    augmented_images = data_augmentation(images)
    assert tuple(augmented_images.shape) == (batch_size, 32, 32, 3)

    # keras.io's older text: data_augmentation = keras.Sequential([...]); the same layers, as a Sequential
    seq_augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
    assert tuple(seq_augmentation(images, training=True).shape) == (batch_size, 32, 32, 3)
    np.testing.assert_allclose(ops.convert_to_numpy(seq_augmentation(images, training=False)),
                               ops.convert_to_numpy(images))

    train_ds = AugmentedDataset(train_ds)

    model = make_model(input_shape=image_size + (3,), num_classes=2)
    # the parameter count of keras' model (layer formulas: conv k*k*in*out+out, separable k*k*in+in*out+out,
    # batch norm 4*channels of which 2*channels non-trainable)
    assert model.count_params() == 2_731_065
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 8_288
    assert tuple(model.output_shape) == (None, 1)

    epochs = 3  # the example: 25

    callbacks = [
        keras.callbacks.ModelCheckpoint("save_at_{epoch}.keras"),
    ]
    model.compile(
        optimizer=keras.optimizers.Adam(3e-4),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(name="acc")],
    )
    history = model.fit(
        train_ds,
        epochs=epochs,
        callbacks=callbacks,
        validation_data=val_ds,
        verbose=0,
    )
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(os.path.exists(f"save_at_{epoch}.keras") for epoch in range(1, epochs + 1))


def test_image_classification_from_scratch_inference(tmp_path, monkeypatch):
    """The example's last section ("Run inference on new data") on an untrained make_model."""
    monkeypatch.chdir(tmp_path)
    _write_synthetic_pet_images(str(tmp_path), 1, 32, np.random.default_rng(1))
    image_size = (32, 32)
    model = make_model(input_shape=image_size + (3,), num_classes=2)

    img = keras.utils.load_img("PetImages/Cat/0.png", target_size=image_size)
    img_array = keras.utils.img_to_array(img)
    img_array = keras.ops.expand_dims(img_array, 0)  # Create batch axis

    predictions = model.predict(img_array, verbose=0)
    assert predictions.shape == (1, 1)
    score = float(keras.ops.sigmoid(predictions[0][0]))
    print(f"This image is {100 * (1 - score):.2f}% cat and {100 * score:.2f}% dog.")
    assert 0.0 <= score <= 1.0


# ----------------------------------------------------------------------------------------------------------------
# 2. keras.io/examples/vision/conv_lstm (Amogh Joshi, Keras 3 version). Moving MNIST (1000 sequences of 20
#    64x64 frames) is replaced by 12 sequences of 6 frames 12x12 with a moving square.
# ----------------------------------------------------------------------------------------------------------------
def _moving_squares(n, frames, size, rng):
    data = np.zeros((n, frames, size, size), dtype="uint8")
    for i in range(n):
        r, c = rng.integers(0, size - 3, 2)
        dr, dc = rng.choice([-1, 1], 2)
        for t in range(frames):
            data[i, t, r:r + 3, c:c + 3] = 255
            if not 0 <= r + dr <= size - 3:
                dr = -dr
            if not 0 <= c + dc <= size - 3:
                dc = -dc
            r, c = r + dr, c + dc
    return data


def test_conv_lstm_next_frame_prediction():
    np.random.seed(0)
    dataset = _moving_squares(12, 6, 12, np.random.default_rng(0))  # stands in for np.load(moving_mnist.npy)

    # Add a channel dimension since the images are grayscale.
    dataset = np.expand_dims(dataset, axis=-1)

    # Split into train and validation sets using indexing to optimize memory.
    indexes = np.arange(dataset.shape[0])
    np.random.shuffle(indexes)
    train_index = indexes[: int(0.9 * dataset.shape[0])]
    val_index = indexes[int(0.9 * dataset.shape[0]) :]
    train_dataset = dataset[train_index]
    val_dataset = dataset[val_index]

    # Normalize the data to the 0-1 range.
    train_dataset = train_dataset / 255
    val_dataset = val_dataset / 255

    # We'll define a helper function to shift the frames, where
    # `x` is frames 0 to n - 1, and `y` is frames 1 to n.
    def create_shifted_frames(data):
        x = data[:, 0 : data.shape[1] - 1, :, :]
        y = data[:, 1 : data.shape[1], :, :]
        return x, y

    # Apply the processing function to the datasets.
    x_train, y_train = create_shifted_frames(train_dataset)
    x_val, y_val = create_shifted_frames(val_dataset)

    # Inspect the dataset.
    print("Training Dataset Shapes: " + str(x_train.shape) + ", " + str(y_train.shape))
    print("Validation Dataset Shapes: " + str(x_val.shape) + ", " + str(y_val.shape))
    assert x_train.shape == y_train.shape == (10, 5, 12, 12, 1)
    assert x_val.shape == y_val.shape == (2, 5, 12, 12, 1)

    # Construct the input layer with no definite frame size.
    inp = layers.Input(shape=(None, *x_train.shape[2:]))

    # We will construct 3 `ConvLSTM2D` layers with batch normalization,
    # followed by a `Conv3D` layer for the spatiotemporal outputs.
    x = layers.ConvLSTM2D(
        filters=64,
        kernel_size=(5, 5),
        padding="same",
        return_sequences=True,
        activation="relu",
    )(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(
        filters=64,
        kernel_size=(3, 3),
        padding="same",
        return_sequences=True,
        activation="relu",
    )(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(
        filters=64,
        kernel_size=(1, 1),
        padding="same",
        return_sequences=True,
        activation="relu",
    )(x)
    x = layers.Conv3D(
        filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same"
    )(x)

    # Next, we will build the complete model and compile it.
    model = keras.models.Model(inp, x)
    model.compile(
        loss=keras.losses.binary_crossentropy,
        optimizer=keras.optimizers.Adam(),
    )
    # ConvLSTM2D: 4*filters*(k*k*in + k*k*filters) + 4*filters; BatchNormalization 4*64; Conv3D 27*64 + 1
    assert model.count_params() == 746_689
    assert tuple(model.output_shape) == (None, None, 12, 12, 1)

    # Define some callbacks to improve training.
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5)

    # Define modifiable training hyperparameters.
    epochs = 4  # the example: 20
    batch_size = 5

    # Fit the model to the training data.
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_val, y_val),
        callbacks=[early_stopping, reduce_lr],
        verbose=0,
    )
    assert history.history["loss"][-1] < history.history["loss"][0]

    # Select a random example from the validation dataset.
    example = val_dataset[np.random.choice(range(len(val_dataset)), size=1)[0]]

    # Pick the first/last three frames from the example (the example: ten of twenty).
    frames = example[:3, ...]
    original_frames = example[3:, ...]

    # Predict a new set of 3 frames.
    for _ in range(3):
        # Extract the model's prediction and post-process it.
        new_prediction = model.predict(np.expand_dims(frames, axis=0), verbose=0)
        new_prediction = np.squeeze(new_prediction, axis=0)
        predicted_frame = np.expand_dims(new_prediction[-1, ...], axis=0)

        # Extend the set of prediction frames.
        frames = np.concatenate((frames, predicted_frame), axis=0)

    assert frames.shape == (6, 12, 12, 1) and original_frames.shape == (3, 12, 12, 1)
    new_frames = frames[3:, ...]
    assert np.all((new_frames >= 0) & (new_frames <= 1))


# ----------------------------------------------------------------------------------------------------------------
# 3. keras.io/examples/timeseries/timeseries_classification_from_scratch (hfawaz, Keras 3 version). FordA
#    (3601 + 1320 series of length 500, labels -1/1) is replaced by synthetic z-normalized series of length 96:
#    class -1 a slow sine, class 1 a fast one, random phase, plus noise.
# ----------------------------------------------------------------------------------------------------------------
def _synthetic_forda(n, length, rng):
    y = rng.choice([-1, 1], n)
    t = np.arange(length)
    freq = np.where(y == 1, 0.25, 0.08)[:, None]
    x = np.sin(freq * t[None, :] + rng.uniform(0, 2 * np.pi, (n, 1))) + rng.normal(0, 0.3, (n, length))
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    return x, y.astype(int)


def test_timeseries_classification_from_scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x_train, y_train = _synthetic_forda(160, 96, rng)  # stands in for readucr(root_url + "FordA_TRAIN.tsv")
    x_test, y_test = _synthetic_forda(64, 96, rng)  # stands in for readucr(root_url + "FordA_TEST.tsv")

    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))

    num_classes = len(np.unique(y_train))

    idx = np.random.permutation(len(x_train))
    x_train = x_train[idx]
    y_train = y_train[idx]

    y_train[y_train == -1] = 0
    y_test[y_test == -1] = 0

    def make_model(input_shape):
        input_layer = keras.layers.Input(input_shape)

        conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
        conv1 = keras.layers.BatchNormalization()(conv1)
        conv1 = keras.layers.ReLU()(conv1)

        conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
        conv2 = keras.layers.BatchNormalization()(conv2)
        conv2 = keras.layers.ReLU()(conv2)

        conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
        conv3 = keras.layers.BatchNormalization()(conv3)
        conv3 = keras.layers.ReLU()(conv3)

        gap = keras.layers.GlobalAveragePooling1D()(conv3)

        output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

        return keras.models.Model(inputs=input_layer, outputs=output_layer)

    model = make_model(input_shape=x_train.shape[1:])
    assert model.count_params() == 25_858  # Conv1D 3*in*64+64 (x3), BatchNormalization 4*64 (x3), Dense 64*2+2
    assert tuple(model.output_shape) == (None, 2)

    epochs = 12  # the example: 500
    batch_size = 32

    callbacks = [
        keras.callbacks.ModelCheckpoint(
            "best_model.keras", save_best_only=True, monitor="val_loss"
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=20, min_lr=0.0001
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, verbose=1),
    ]
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        callbacks=callbacks,
        validation_split=0.2,
        verbose=0,
    )
    assert {"loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy",
            "learning_rate"} <= set(history.history)
    assert history.history["loss"][-1] < history.history["loss"][0]

    # Evaluate model on test data
    model = keras.models.load_model("best_model.keras")

    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)

    print("Test accuracy", test_acc)
    print("Test loss", test_loss)
    assert test_acc > 0.8  # two balanced classes


# ----------------------------------------------------------------------------------------------------------------
# 4. keras.io/examples/structured_data/structured_data_classification_with_feature_space (fchollet, Keras 3):
#    the heart-disease CSV is replaced by a synthetic dataframe with the same columns; tf.data by arrays.
# ----------------------------------------------------------------------------------------------------------------
def _synthetic_heart_dataframe(n, rng):
    """Stands in for pd.read_csv(heart.csv): the example's 13 feature columns and a target that depends on
    thal, cp and oldpeak (plus 5% label noise)."""
    import pandas as pd
    df = pd.DataFrame({
        "age": rng.integers(29, 78, n),
        "sex": rng.integers(0, 2, n),
        "cp": rng.integers(0, 5, n),
        "trestbps": rng.integers(94, 201, n),
        "chol": rng.integers(126, 565, n),
        "fbs": rng.integers(0, 2, n),
        "restecg": rng.integers(0, 3, n),
        "thalach": rng.integers(71, 203, n),
        "exang": rng.integers(0, 2, n),
        "oldpeak": np.round(rng.uniform(0, 6.2, n), 1),
        "slope": rng.integers(1, 4, n),
        "ca": rng.integers(0, 4, n),
        "thal": rng.choice(["normal", "fixed", "reversible"], n),
    })
    target = (df["thal"] == "reversible") | (df["cp"] == 4) | (df["oldpeak"] > 4.5)
    df["target"] = np.where(rng.random(n) < 0.05, ~target, target).astype(int)
    return df


def _feature_space_example():
    """The example up to training; returns what the inference part uses."""
    from nerve.utils import FeatureSpace

    dataframe = _synthetic_heart_dataframe(303, np.random.default_rng(0))
    print(dataframe.shape)
    assert dataframe.shape == (303, 14)

    val_dataframe = dataframe.sample(frac=0.2, random_state=1337)
    train_dataframe = dataframe.drop(val_dataframe.index)

    print(
        "Using %d samples for training and %d for validation"
        % (len(train_dataframe), len(val_dataframe))
    )

    # The example's tf.data.Dataset.from_tensor_slices((dict(dataframe), labels)).shuffle(...) pipeline is
    # replaced by the (dict of columns, labels) pair itself; .batch(32) becomes fit's batch_size=32.
    def dataframe_to_dataset(dataframe):
        dataframe = dataframe.copy()
        labels = dataframe.pop("target")
        return dict(dataframe), labels

    train_ds = dataframe_to_dataset(train_dataframe)
    val_ds = dataframe_to_dataset(val_dataframe)

    feature_space = FeatureSpace(
        features={
            # Categorical features encoded as integers
            "sex": FeatureSpace.integer_categorical(num_oov_indices=0),
            "cp": FeatureSpace.integer_categorical(num_oov_indices=0),
            "fbs": FeatureSpace.integer_categorical(num_oov_indices=0),
            "restecg": FeatureSpace.integer_categorical(num_oov_indices=0),
            "exang": FeatureSpace.integer_categorical(num_oov_indices=0),
            "ca": FeatureSpace.integer_categorical(num_oov_indices=0),
            # Categorical feature encoded as string
            "thal": FeatureSpace.string_categorical(num_oov_indices=0),
            # Numerical features to discretize
            "age": FeatureSpace.float_discretized(num_bins=30),
            # Numerical features to normalize
            "trestbps": FeatureSpace.float_normalized(),
            "chol": FeatureSpace.float_normalized(),
            "thalach": FeatureSpace.float_normalized(),
            "oldpeak": FeatureSpace.float_normalized(),
            "slope": FeatureSpace.float_normalized(),
        },
        # Specify feature cross with a custom crossing dim.
        crosses=[
            FeatureSpace.cross(feature_names=("sex", "age"), crossing_dim=64),
            FeatureSpace.cross(
                feature_names=("thal", "ca"),
                crossing_dim=16,
            ),
        ],
        output_mode="concat",
    )

    train_ds_with_no_labels = train_ds[0]  # the example: train_ds.map(lambda x, _: x)
    feature_space.adapt(train_ds_with_no_labels)

    x = {name: column[:32] for name, column in train_ds[0].items()}  # the example: train_ds.take(1)
    preprocessed_x = feature_space(x)
    print("preprocessed_x.shape:", preprocessed_x.shape)
    print("preprocessed_x.dtype:", preprocessed_x.dtype)
    # one-hot: sex 2, cp 5, fbs 2, restecg 3, exang 2, ca 4, thal 3, age 30 bins; 5 normalized; crosses 64 + 16
    assert tuple(preprocessed_x.shape) == (32, 2 + 5 + 2 + 3 + 2 + 4 + 3 + 30 + 5 + 64 + 16)
    assert str(preprocessed_x.dtype) == "float32"

    # the example: train_ds.map(lambda x, y: (feature_space(x), y)) and the same for val_ds
    preprocessed_train_ds = (feature_space(train_ds[0]), train_ds[1])
    preprocessed_val_ds = (feature_space(val_ds[0]), val_ds[1])

    dict_inputs = feature_space.get_inputs()
    encoded_features = feature_space.get_encoded_features()

    x = keras.layers.Dense(32, activation="relu")(encoded_features)
    x = keras.layers.Dropout(0.5)(x)
    predictions = keras.layers.Dense(1, activation="sigmoid")(x)

    training_model = keras.Model(inputs=encoded_features, outputs=predictions)
    training_model.compile(
        optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"]
    )

    inference_model = keras.Model(inputs=dict_inputs, outputs=predictions)

    history = training_model.fit(
        *preprocessed_train_ds, batch_size=32, epochs=20, validation_data=preprocessed_val_ds, verbose=0
    )
    return history, inference_model


def test_structured_data_classification_with_feature_space():
    """keras.io/examples/structured_data/structured_data_classification_with_feature_space (fchollet): the
    heart-disease CSV is replaced by a synthetic dataframe with the same columns."""
    if not hasattr(keras.utils, "FeatureSpace"):
        pytest.skip("nerve.utils.FeatureSpace does not exist yet")
    history, _ = _feature_space_example()
    # "We quickly get to 80% validation accuracy."
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.8


def test_structured_data_classification_with_feature_space_inference():
    """The example's last section: the end-to-end inference model (FeatureSpace inputs, string "thal"
    included) predicts from a dict of raw values."""
    if not hasattr(keras.utils, "FeatureSpace"):
        pytest.skip("nerve.utils.FeatureSpace does not exist yet")
    _, inference_model = _feature_space_example()

    sample = {
        "age": 60,
        "sex": 1,
        "cp": 1,
        "trestbps": 145,
        "chol": 233,
        "fbs": 1,
        "restecg": 2,
        "thalach": 150,
        "exang": 0,
        "oldpeak": 2.3,
        "slope": 3,
        "ca": 0,
        "thal": "fixed",
    }

    # the example: tf.convert_to_tensor([value]) (TensorFlow; a NumPy array on other backends)
    input_dict = {name: np.array([value]) for name, value in sample.items()}
    predictions = inference_model.predict(input_dict, verbose=0)

    print(
        f"This particular patient had a {100 * predictions[0][0]:.2f}% probability "
        "of having a heart disease, as evaluated by our model."
    )
    assert predictions.shape == (1, 1) and 0.0 <= predictions[0][0] <= 1.0


# ----------------------------------------------------------------------------------------------------------------
# 5. A transformer classifier in the style of keras.io/examples/nlp/text_classification_with_transformer whose
#    block uses GroupedQueryAttention and RMSNormalization and is a custom layer registered with
#    keras.saving.register_keras_serializable (keras.io/guides/serialization_and_saving), saved to .keras and
#    reloaded without custom_objects. Synthetic task: is token 7 present?
# ----------------------------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="KerasScriptsMore")
class GQATransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_query_heads, num_key_value_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.ff_dim = ff_dim
        self.rate = rate
        self.att = layers.GroupedQueryAttention(
            head_dim=embed_dim // num_query_heads,
            num_query_heads=num_query_heads,
            num_key_value_heads=num_key_value_heads,
        )
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.norm1 = layers.RMSNormalization(epsilon=1e-6)
        self.norm2 = layers.RMSNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=None):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.norm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.norm2(out1 + ffn_output)

    def get_config(self):
        config = super().get_config()
        config.update({
            "embed_dim": self.embed_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "ff_dim": self.ff_dim,
            "rate": self.rate,
        })
        return config


@keras.saving.register_keras_serializable(package="KerasScriptsMore")
class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.maxlen, self.vocab_size, self.embed_dim = maxlen, vocab_size, embed_dim
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions

    def get_config(self):
        config = super().get_config()
        config.update({"maxlen": self.maxlen, "vocab_size": self.vocab_size, "embed_dim": self.embed_dim})
        return config


def test_gqa_rmsnorm_transformer_registered_and_reloaded(tmp_path):
    assert keras.saving.get_registered_name(GQATransformerBlock) == "KerasScriptsMore>GQATransformerBlock"
    assert keras.saving.get_registered_object("KerasScriptsMore>GQATransformerBlock") is GQATransformerBlock

    vocab_size, maxlen = 20, 12
    rng = np.random.default_rng(0)
    x_train = rng.integers(1, vocab_size, (512, maxlen))
    y_train = (x_train == 7).any(axis=1).astype("int64")
    embed_dim, ff_dim = 16, 16
    inputs = layers.Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = GQATransformerBlock(embed_dim, num_query_heads=4, num_key_value_heads=2, ff_dim=ff_dim)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    # GQA (head_dim 4, 4 query heads, 2 key/value heads, biases): query 16*16+16, key and value 16*8+8 each,
    # output 16*16+16; RMSNormalization 16 each; embeddings 20*16 + 12*16; ffn 16*16+16 twice; head 16*20+20, 20*2+2
    gqa = (16 * 16 + 16) + 2 * (16 * 8 + 8) + (16 * 16 + 16)
    assert model.count_params() == 20 * 16 + 12 * 16 + gqa + 2 * 16 + 2 * (16 * 16 + 16) + 16 * 20 + 20 + 20 * 2 + 2
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=8, validation_split=0.2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.85

    path = str(tmp_path / "gqa_transformer.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)  # no custom_objects: the classes are registered
    assert isinstance(reloaded.layers[2], GQATransformerBlock)
    assert reloaded.layers[2].get_config()["num_key_value_heads"] == 2
    np.testing.assert_allclose(reloaded.predict(x_train[:32], verbose=0), model.predict(x_train[:32], verbose=0),
                               rtol=1e-5, atol=1e-6)
