"""Issue 9 item 2: the same seed gives bit-identical weights and history in two separate processes (CPU,
same BLAS thread count; see the README's Reliability section for the thread-count caveat)."""
import numpy as np


def test_same_seed_two_processes_bit_identical(tmp_path, run_script):
    a = run_script("determinism", 42, tmp_path / "a.npz")
    b = run_script("determinism", 42, tmp_path / "b.npz")
    assert sorted(a) == sorted(b)
    assert {"h_loss", "h_accuracy", "h_val_loss", "h_val_accuracy"} <= set(a)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), k  # bit-identical, not just close
    c = run_script("determinism", 43, tmp_path / "c.npz")  # control: the seed does reach the weights
    assert not np.array_equal(a["arr_0"], c["arr_0"])
