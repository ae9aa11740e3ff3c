"""Distributed hyper-parameter tuning on Dask distributed.

Why Dask (and not Ray Tune): ``pip install "dask[distributed]"`` is pure Python and small, a ``LocalCluster``
of worker processes starts in seconds on a laptop or a 2-core CI box, and the very same code connects to a
real cluster by its scheduler address (``tcp://host:8786``; ``dask-scheduler`` / ``dask-worker`` on the
machines, or dask-jobqueue / dask-kubernetes). A sweep is an embarrassingly parallel map of independent
runs, which is exactly ``Client.map``; Ray Tune brings its own trial scheduler, a large binary wheel and a
runtime we would not use.

Determinism: the plan (grid or random sample) is made on the client; each run is seeded with the sweep's
``seed`` inside the worker (``sweeps.execute_run``), and workers return records instead of writing files
(the client writes the run directories, so workers need no shared filesystem). The results table is
therefore identical to a serial ``tuning_run`` with the same seed.

    from nerve.integrations.distributed import dask_tuning_run
    results = dask_tuning_run("nerve.integrations.examples:mnistnn", flags={"nodes1": [64, 128]},
                              address=None, n_workers=2)     # or address="tcp://scheduler:8786"
"""
from . import sweeps


class DaskExecutor:
    """Maps sweep tasks over a Dask cluster: ``address`` of a running scheduler, a ``distributed.Client``,
    or None for a ``LocalCluster`` of ``n_workers`` single-threaded worker processes (closed afterwards)."""

    def __init__(self, address=None, n_workers=2, threads_per_worker=1, client=None):
        self.address, self.n_workers, self.threads_per_worker, self.client = address, n_workers, threads_per_worker, client
        self.workers_used = set()
        self.cluster_workers = 0

    def _connect(self):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as e:
            raise ImportError('distributed tuning needs Dask: pip install "dask[distributed]"') from e
        if self.client is not None:
            return self.client, None
        if self.address is not None:
            return Client(self.address), None
        cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster

    def __call__(self, tasks):
        client, cluster = self._connect()
        try:
            client.wait_for_workers(1)
            self.cluster_workers = len(client.scheduler_info()["workers"])
            targets, flag_sets, seeds = zip(*tasks) if tasks else ((), (), ())
            futures = client.map(_run_and_tag, targets, flag_sets, seeds, pure=False)
            records = client.gather(futures)
        finally:
            if client is not self.client:
                client.close()
            if cluster is not None:
                cluster.close()
        self.workers_used = {r.pop("worker") for r in records}
        return list(records)


def _run_and_tag(target, run_flags, seed):
    rec = sweeps.execute_run(target, run_flags, seed)
    try:
        from dask.distributed import get_worker
        rec["worker"] = get_worker().address
    except (ImportError, ValueError):
        rec["worker"] = "local"
    return rec


def dask_tuning_run(target, flags=None, sample=None, runs_dir="runs", metric="val_loss", mode="min", seed=0,
                    address=None, n_workers=2, client=None):
    """``sweeps.tuning_run`` with the runs spread over a Dask cluster (grid or random sample of it)."""
    executor = DaskExecutor(address=address, n_workers=n_workers, client=client)
    results = sweeps.tuning_run(target, flags=flags, sample=sample, runs_dir=runs_dir, metric=metric, mode=mode,
                                seed=seed, executor=executor)
    results.workers_used, results.cluster_workers = executor.workers_used, executor.cluster_workers
    return results
