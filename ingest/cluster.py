"""Reading pictures on a Dask cluster: the workers decode, hash and thumbnail
files by path (a file system they share with this machine), and this process
stays the one writer of the database.

Dask's distributed is an optional extra (`pip install
'datasette-cattags[dask]'`). Its client hands out a `concurrent.futures`
executor, so the ordered, bounded map of `parallel` runs on it unchanged.
When a worker dies, the scheduler runs its tasks again on another worker;
a task that keeps killing workers comes back as an error, and its files are
recorded in the errors table (and read again by the next run).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import CattagsError

LOCAL = "local"  # --dask local: a cluster of processes on this machine
CONNECT_SECONDS = 10  # how long to wait for a scheduler that does not answer
INSTALL = "pip install 'datasette-cattags[dask]'"


@dataclass
class DaskPool:
    """An executor on the cluster and how many tasks it runs at once."""

    executor: Executor
    workers: int


def require_dask() -> None:
    """CattagsError saying how to install Dask's distributed, where it is missing."""
    from importlib.util import find_spec

    if find_spec("distributed") is None:
        raise CattagsError(
            f"--dask needs Dask's distributed, which is not installed here: {INSTALL}"
        )


@contextmanager
def dask_pool(address: str, workers: int) -> Iterator[DaskPool]:
    """A pool on the scheduler at `address` ("tcp://host:8786"), or on a new
    local cluster of `workers` single-threaded processes for "local"."""
    require_dask()
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if address == LOCAL:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        if cluster is not None:
            cluster.close()
        if isinstance(error, ValueError):  # distributed could not read the address
            raise CattagsError(
                f"{address!r} is not a Dask scheduler address (write tcp://host:8786,"
                f" or local): {error}"
            ) from None
        raise CattagsError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_SECONDS * 6)
        except TimeoutError:
            raise CattagsError(f"the Dask scheduler at {address} has no workers") from None
        threads = sum(client.nthreads().values())
        yield DaskPool(client.get_executor(pure=False), max(1, threads))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
