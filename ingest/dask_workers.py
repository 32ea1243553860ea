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

import socket
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import CattagsError

LOCAL = "local"  # --dask local: a cluster of processes on this machine
CONNECT_SECONDS = 10  # how long to wait for a scheduler that does not answer
MAX_FRAMES = 1024  # frames in a Dask message, far more than a handshake has
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


def check_greeting(address: str) -> None:
    """CattagsError unless what listens at a tcp:// address greets like a
    Dask scheduler. A scheduler sends its handshake first, at once; Dask's
    client would wait forever on a port that speaks another protocol (an
    HTTP server says nothing until it is asked)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme != "tcp":
        return  # tls:// and the rest: the handshake is theirs
    host, port = parse_host_port(location)
    greeting = b""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS) as sock:
            sock.settimeout(CONNECT_SECONDS)
            while len(greeting) < 8 and (data := sock.recv(8 - len(greeting))):
                greeting += data
    except TimeoutError:
        if not greeting:
            raise CattagsError(
                f"{address} accepts connections but sent no Dask greeting in"
                f" {CONNECT_SECONDS} s: is it a Dask scheduler's port?"
            ) from None
    except OSError as error:
        raise CattagsError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    # A Dask message starts with its number of frames, a small 64-bit integer.
    if len(greeting) < 8 or int.from_bytes(greeting, "little") > MAX_FRAMES:
        raise CattagsError(f"{address} answers, but not like a Dask scheduler")


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
            check_greeting(address)
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
