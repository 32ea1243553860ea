"""cattags: a folder of photos into one SQLite database of hashes, thumbnails and tags."""

__version__ = "0.1.0"
