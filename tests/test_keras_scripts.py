"""keras.io examples run with `import keras` replaced by `import nerve as keras` (the ground rule: a Keras 3
script that uses supported features runs after replacing the import). Each script body is the example's code,
with smaller data and epochs so it runs in seconds; the checks are that it runs and learns."""
import numpy as np

import nerve as keras
from nerve import layers, ops


def test_simple_mnist_convnet():
    """keras.io/examples/vision/mnist_convnet (Fashion-MNIST's embedded subset, 2,000 images)."""
    num_classes, input_shape = 10, (28, 28, 1)
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data(allow_embedded=True)
    x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=5, validation_split=0.1, verbose=0)
    score = model.evaluate(x_test, y_test, verbose=0)
    assert score[1] > 0.6  # 10 classes: chance is 0.1


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def test_text_classification_with_transformer():
    """keras.io/examples/nlp/text_classification_with_transformer (a synthetic task: is token 7 present?)."""
    vocab_size, maxlen = 20, 12
    rng = np.random.default_rng(0)
    x_train = rng.integers(1, vocab_size, (512, maxlen))
    y_train = (x_train == 7).any(axis=1).astype("int64")
    embed_dim, num_heads, ff_dim = 16, 2, 16
    inputs = layers.Input(shape=(maxlen,))
    embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
    x = embedding_layer(inputs)
    transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
    x = transformer_block(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=8, validation_split=0.2, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.85


def test_structured_data_preprocessing_layers():
    """keras.io/examples/structured_data (the preprocessing part): StringLookup/IntegerLookup/Normalization
    encode a table's columns; a Dense head trains on the concatenation."""
    rng = np.random.default_rng(1)
    thal = rng.choice(["normal", "fixed", "reversible"], 400)
    sex = rng.integers(0, 2, 400)
    age = rng.normal(54, 9, 400).astype("float32")
    target = ((thal == "reversible") ^ (age > 60)).astype("float32")
    lookup = layers.StringLookup(output_mode="one_hot")
    lookup.adapt(thal)
    sex_lookup = layers.IntegerLookup(output_mode="one_hot")
    sex_lookup.adapt(sex)
    normalizer = layers.Normalization()
    normalizer.adapt(age[:, None])
    features = np.concatenate([ops.convert_to_numpy(lookup(thal)), ops.convert_to_numpy(sex_lookup(sex)),
                               ops.convert_to_numpy(normalizer(age[:, None]))], axis=1)
    model = keras.Sequential([keras.Input((features.shape[1],)), layers.Dense(32, activation="relu"),
                              layers.Dropout(0.2), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(features, target, epochs=60, batch_size=32, verbose=0)
    assert model.evaluate(features, target, verbose=0)[1] > 0.9


class CustomModel(keras.Model):
    """keras.io/guides/custom_train_step_in_torch, with torch.no_grad() -> keras.no_grad()."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with keras.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_custom_train_step_guide():
    inputs = keras.Input(shape=(32,))
    outputs = layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    x = rng.random((1000, 32)).astype("float32")
    y = (x @ rng.random((32, 1)) / 8).astype("float32")
    history = model.fit(x, y, epochs=20, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
