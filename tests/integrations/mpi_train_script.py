"""Run under mpirun (or alone): train a tiny MLP data-parallel and save the final weights from rank 0.

usage: python mpi_train_script.py OUT_DIR [serial]"""
import os
import sys

import numpy as np

import nerve
from nerve import layers
from nerve.integrations.mpi import SerialComm, distributed_fit


def build():
    nerve.set_random_seed(0)
    m = nerve.Sequential([nerve.Input((5,)), layers.Dense(8, activation="tanh"),
                          layers.Dense(3, activation="softmax", kernel_regularizer="l2")])
    m.compile(optimizer=nerve.optimizers.Adam(0.01), loss="categorical_crossentropy")
    return m


def data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(70, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 70)]
    return x, y


if __name__ == "__main__":
    out = sys.argv[1]
    comm = SerialComm() if len(sys.argv) > 2 and sys.argv[2] == "serial" else None
    model = build()
    if comm is None:
        from mpi4py import MPI
        if MPI.COMM_WORLD.Get_rank() == 1:  # rank 1 starts from other weights: the broadcast must fix them
            for w in model.weights:
                w.data[...] = 0.5
    x, y = data()
    hist = distributed_fit(model, x, y, batch_size=16, epochs=3, seed=3, comm=comm,
                           checkpoint_path=os.path.join(out, "ckpt-{epoch}.weights.npz"))
    rank = 0 if comm is not None else __import__("mpi4py.MPI", fromlist=["MPI"]).COMM_WORLD.Get_rank()
    np.savez(os.path.join(out, f"final-rank{rank}.npz"), *model.get_weights(), loss=np.array(hist["loss"]))
