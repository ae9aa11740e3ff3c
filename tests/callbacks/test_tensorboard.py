"""TensorBoard callback: the event files tensorboard reads (TFRecord framing with CRCs, Event protos),
laid out as Keras does (train/ and validation/, epoch_ and batch_ tags), read back record by record."""
import glob
import os
import struct

import numpy as np
import pytest

import nerve
from nerve import layers

pytest.importorskip("tensorboardX")
from tensorboardX.crc32c import crc32c  # noqa: E402
from tensorboardX.proto import event_pb2  # noqa: E402


def masked_crc(b):
    c = crc32c(b)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF  # TFRecord's masked CRC32-C


def read_events(folder):
    """{tag: [(step, value)]} from the event files in folder, checking each record's framing and CRCs."""
    out = {}
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos:pos + 8])
            record = data[pos + 12:pos + 12 + n]
            assert struct.unpack("<I", data[pos + 8:pos + 12])[0] == masked_crc(data[pos:pos + 8])
            assert struct.unpack("<I", data[pos + 12 + n:pos + 16 + n])[0] == masked_crc(record)
            event = event_pb2.Event.FromString(record)
            pos += 12 + n + 4  # length, its CRC, the record, its CRC
            for v in event.summary.value:
                if v.HasField("histo"):
                    out.setdefault(v.tag, []).append((event.step, v.histo.num))
                else:
                    out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def _fit(tmp_path, **kw):
    nerve.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int64)
    model = nerve.Sequential([nerve.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    tb = nerve.callbacks.TensorBoard(log_dir=tmp_path / "logs", **kw)
    h = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0, callbacks=[tb])
    return h, read_events(str(tmp_path / "logs" / "train")), read_events(str(tmp_path / "logs" / "validation"))


def test_epoch_scalars_in_train_and_validation(tmp_path):
    h, train, val = _fit(tmp_path, write_steps_per_second=True)
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], h.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in val["epoch_accuracy"]], h.history["val_accuracy"], rtol=1e-6)
    assert "epoch_learning_rate" in train and "epoch_steps_per_second" in train
    assert not any(k.startswith("epoch_val_") for k in train)


def test_batch_scalars_and_histograms(tmp_path):
    _, train, _ = _fit(tmp_path, update_freq=2, histogram_freq=2)
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8]  # 3 batches per epoch, every 2nd global batch
    hist = [k for k in train if "kernel" in k]
    assert hist and all([s for s, _ in train[k]] == [0, 2] for k in hist)  # epochs 0 and 2
    assert train[hist[0]][0][1] == 12  # Dense(3 -> 4) kernel: 12 values


def test_unsupported_options_are_clear():
    with pytest.raises(ValueError, match=r"TensorBoard: argument 'write_images' is not supported"):
        nerve.callbacks.TensorBoard(write_images=True)
    with pytest.raises(ValueError, match=r"TensorBoard: argument 'update_freq' expected 'epoch', 'batch' or a"):
        nerve.callbacks.TensorBoard(update_freq="step")
