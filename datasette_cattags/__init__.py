"""Datasette plugin for cattags databases."""

from datasette import hookimpl

from ingest.store import register_functions


@hookimpl
def prepare_connection(conn):
    """Offer hamming(a, b) in every database."""
    register_functions(conn)
