"""Issue 9 item 6: a 50-epoch fit keeps its memory flat after the first epochs: every step's graph is freed.

Measured in a fresh process (train_script.py memory): RSS from /proc/self/status and the number of live
Tensors at each epoch end. An MLP 64-256-128-10 on 1,024 samples, batch 32: if each step kept its graph
(activations, gradients), RSS would grow by ~100 kB per step, ~250 MB over epochs 10-50; the bound below
allows 24 MB of allocator noise. bench/bench_memory.py reports the peak RSS per epoch for the MLP workload."""
import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_fifty_epochs_keep_rss_and_live_tensors_flat(tmp_path, run_script):
    r = run_script("memory", 50, tmp_path / "m.npz")
    rss, tensors = r["rss"], r["tensors"]
    assert len(rss) == 50
    growth_mb = (rss[-1] - rss[9]) / 1024
    assert growth_mb < 24, f"RSS grew by {growth_mb:.1f} MB between epochs 10 and 50: {rss.tolist()}"
    assert max(rss[10:]) - rss[9] < 24 * 1024
    # no Tensor outlives its step: the count at each epoch end is the same from the first epochs on
    assert tensors[-1] == tensors[4], tensors.tolist()
