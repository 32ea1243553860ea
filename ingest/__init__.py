"""cattags: a folder of photos into one SQLite database of hashes, thumbnails and tags.

The library and the `cattags` command; it never imports Datasette. Flat on
purpose (imports stay short, and each module is small); its parts are:

The core, which every part below imports (standard library only)
    identity    what names a picture: its id, its thumbnail's name, the default size

Reading pictures (worker processes; no database)
    scanning    walk a source folder: which files look like pictures
    opening     open a file only while it is still the regular file it was seen as
    analyse     read one file, decode it once, derive everything from it
    camera_raw  camera RAW files through rawpy: the camera's preview, or developed
    xmp         what is kept of a picture's XMP: bounded to a few KB
    pixels      compiled passes over decoded pixels: extrema, reductions, block sums
    hashing     whash (exactly imagehash's), phash, dhash, variant hashes, hamming()
    thumbnails  make, name, encode, read back and write thumbnail files
    looks       how a picture looks (87 bytes from its thumbnail), and its index
    learned     the learned look: EfficientNet-Lite0 on ONNX Runtime (the `looks` extra)
    taken       when a picture was taken (EXIF), and events split by gaps in time
    parallel    the ordered, bounded process pool (or a cluster's executor)
    dask_workers the same on a Dask cluster's workers (the optional `dask` extra)
    jit         numba, with its cache in a folder this process may write

Storing (the main process; SQLite)
    schema      numbered migrations: every table, column and index
    store       open, check and close databases; settings; errors; transactions
    rows        the one owner of an images row and its thumbnail
    tags        tags from folder names
    moves       move thumbnails between folders, log, undo
    originals   find a picture's source file again, safely

Searching hashes
    search      exact Hamming pairs (in one set or across two), k nearest, new-against-all
    kernels     search's compiled loops (used by search only)
    matching    the near-duplicate rule, as is and through turned or cropped variants
    nearby      store neighbours, near-duplicate pairs and clusters
    groups      near-duplicate groups: decisions and clusters (numpy only)
    duplicates  sets of files that are one picture or near-duplicates; the kept file
    lookup      nearest_images(), looks_like(): SQL functions, bounded (numpy only)
    lookgroups  look-alike groups (k-means) and the look order

Commands (thin: `cli` parses, one of these does the work)
    cli         the click commands          pipeline  cattags ingest
    sync        cattags sync                sort      cattags sort
    stats       cattags stats               fetch     cattags fetch
    demo        cattags demo-data           errors    the library's own errors
"""

__version__ = "0.1.0"
