"""Data-parallel training across processes with MPI (mpi4py over Open MPI or MPICH).

Each of the W ranks holds a full replica of the model. Every step uses one *global* batch of B samples
(the same for every rank, from a shuffle seeded identically everywhere); rank r trains on its share
``batch[r::W]`` (n_r samples), computes the gradient g_r of its mean loss, and an ``Allreduce`` gives

    g = sum_r n_r g_r / sum_r n_r,

exactly the gradient of the mean loss over the global batch (regularisation terms, the same on every
rank, are counted once). Every rank then applies the same optimizer step, so the replicas stay equal; the
run matches a single process with batch size B up to float32 rounding. Rank 0 writes the checkpoints.

    mpirun -n 2 python train.py         # as root: mpirun --allow-run-as-root --oversubscribe -n 2 ...

    from nerve.integrations.mpi import distributed_fit
    history = distributed_fit(model, x, y, batch_size=64, epochs=5, seed=0,
                              checkpoint_path="ckpt/epoch-{epoch}.weights.npz")

Limits: BatchNormalization uses per-rank batch statistics (no synchronised BN); the whole dataset is
given to every rank (each indexes its own share), as with a shared filesystem or a small in-memory set.
"""
import numpy as np

from .. import backend
from ..optimizers.base import backward_scaled


class SerialComm:
    """A one-process stand-in for an MPI communicator (same calls), used when mpi4py is absent or W=1."""

    def Get_rank(self):
        return 0

    def Get_size(self):
        return 1

    def Allreduce(self, sendbuf, recvbuf, op=None):
        recvbuf[...] = sendbuf

    def Bcast(self, buf, root=0):
        pass

    def Barrier(self):
        pass


def world():
    """MPI.COMM_WORLD when mpi4py is installed, else a ``SerialComm``."""
    try:
        from mpi4py import MPI
    except ImportError:
        return SerialComm()
    return MPI.COMM_WORLD


def _sum_op():
    try:
        from mpi4py import MPI
        return MPI.SUM
    except ImportError:
        return None


class DistributedSampler:
    """Which samples this rank trains on (cf. ``torch.utils.data.DistributedSampler``).

    Every rank draws the same permutation of ``num_samples`` from ``seed + epoch``; global batch k is
    ``perm[k*B:(k+1)*B]`` and this rank's part of it is ``[rank::num_replicas]``."""

    def __init__(self, num_samples, num_replicas=1, rank=0, shuffle=True, seed=0, drop_last=False):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank {rank} is not in [0, {num_replicas})")
        self.num_samples, self.num_replicas, self.rank = int(num_samples), int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def global_order(self):
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng(self.seed + self.epoch).permutation(self.num_samples)

    def __iter__(self):
        return iter(self.global_order()[self.rank::self.num_replicas].tolist())

    def __len__(self):
        return len(range(self.rank, self.num_samples, self.num_replicas))

    def local_batches(self, global_batch_size):
        """This rank's index arrays, one per global batch (possibly empty for a short last batch)."""
        order, b = self.global_order(), int(global_batch_size)
        stop = (len(order) // b) * b if self.drop_last else len(order)
        for start in range(0, stop, b):
            yield order[start:start + b][self.rank::self.num_replicas]


def broadcast_weights(model, comm, root=0):
    """Make every rank's weights equal to ``root``'s (buffer Bcast, no pickling)."""
    for w in model.weights:
        buf = np.ascontiguousarray(w.data)
        comm.Bcast(buf, root=root)
        w.data[...] = buf


def _allreduce_sum(comm, array):
    out = np.empty_like(array)
    comm.Allreduce(np.ascontiguousarray(array), out, op=_sum_op())
    return out


def _take(data, idx):
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: v[idx] for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [v[idx] for v in data]
    return data[idx]


def _first_len(data):
    first = next(iter(data.values())) if isinstance(data, dict) else data[0] if isinstance(data, (list, tuple)) else data
    return len(first)


def distributed_fit(model, x, y=None, batch_size=32, epochs=1, shuffle=True, seed=0, sample_weight=None, comm=None,
                    checkpoint_path=None, verbose=0):
    """Train ``model`` (compiled) data-parallel over ``comm`` (default: MPI.COMM_WORLD); returns a history dict.

    ``batch_size`` is the global batch; ``checkpoint_path`` (formatted with ``epoch``) is written by rank 0
    after each epoch with ``model.save_weights``. Every rank returns the same weights and history."""
    model._assert_compiled("distributed_fit")
    comm = comm if comm is not None else world()
    rank, size = comm.Get_rank(), comm.Get_size()
    n = _first_len(x)
    if not model.built:
        with backend.no_grad():
            model(_take(x, np.arange(1)), training=False)
    variables = model._set_gradient_flags()
    broadcast_weights(model, comm)
    sampler = DistributedSampler(n, size, rank, shuffle=shuffle, seed=seed)
    history = {"loss": []}
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        loss_sum = count = 0.0
        for idx in sampler.local_batches(batch_size):
            n_local = len(idx)
            flat_parts, loss_local = [], 0.0
            if n_local:
                xb, yb, swb = _take(x, idx), _take(y, idx), _take(sample_weight, idx)
                for v in variables:
                    v.grad = None
                with backend.enable_grad(), backend.training_mode(True):
                    y_pred = model(xb, training=True)
                    loss = model.compute_loss(x=xb, y=yb, y_pred=y_pred, sample_weight=swb, training=True)
                backward_scaled(model.optimizer, loss)  # optimizer.apply below unscales the mean
                loss_local = float(loss.data) * n_local
            for v in variables:  # n_r * g_r, float64 for the sum
                g = v.grad.data if (n_local and v.grad is not None) else np.zeros(v.shape, v.data.dtype)
                flat_parts.append(np.asarray(g, dtype=np.float64).ravel() * n_local)
            flat = np.concatenate(flat_parts + [np.array([n_local, loss_local], dtype=np.float64)])
            total = _allreduce_sum(comm, flat)
            n_total, loss_total = total[-2], total[-1]
            grads, offset = [], 0
            for v in variables:
                k = int(np.prod(v.shape))
                grads.append((total[offset:offset + k] / n_total).reshape(v.shape).astype(v.data.dtype))
                offset += k
            model.optimizer.apply(grads, variables)
            loss_sum, count = loss_sum + loss_total, count + n_total
        history["loss"].append(loss_sum / max(count, 1.0))
        if verbose and rank == 0:
            print(f"epoch {epoch + 1}/{epochs} - loss: {history['loss'][-1]:.4f}", flush=True)
        if checkpoint_path is not None and rank == 0:
            model.save_weights(str(checkpoint_path).format(epoch=epoch + 1))
        comm.Barrier()
    for v in variables:
        v.grad = None
    return history
