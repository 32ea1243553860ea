"""cattags: a folder of photos into one SQLite database of hashes, thumbnails and tags.

The library and the `cattags` command; it never imports Datasette. Flat on
purpose (imports stay short, and each module is small); its parts are
layers, and a module imports only from its own layer and those its heading
names (tests/test_layers.py checks this map against the imports):

The core: the shared vocabulary (imports nothing else of the project's)
    core        a picture's id and thumbnail name, hash codes, the images row's shape
    files       paths as stored, folder-name rules, safe opening, atomic writes
    settings    what a database says about itself: every setting, typed, with its default
    xmp         what is kept of a picture's XMP: bounded to a few KB
    errors      the library's own errors
    jit         numba, with its cache in a folder this process may write

Reading pictures (worker processes; no database; imports the core)
    scanning    walk a source folder: which files look like pictures
    analyse     read one file, decode it once, derive everything from it
    camera_raw  camera RAW files through rawpy: the camera's preview, or developed
    pixels      compiled passes over decoded pixels: extrema, reductions, block sums
    hashing     whash (exactly imagehash's), phash, dhash, the variants' hashes
    thumbnails  make, encode, read back and list thumbnail files; turn a picture upright
    looks       how a picture looks (87 bytes from its thumbnail; the kinds of look)
    learned     the learned look: EfficientNet-Lite0 on ONNX Runtime (the `looks` extra)
    taken       when a picture was taken (EXIF)
    parallel    the ordered, bounded process pool (or a cluster's executor)
    dask_workers the same on a Dask cluster's workers (the optional `dask` extra)

Storing (the main process; SQLite; imports the core)
    schema      numbered migrations: every table, column and index
    store       open, check and close databases; settings; errors; transactions
    rows        the one owner of storing an images row and its thumbnail
    tags        tags from folder names
    moves       move thumbnails between folders, log, undo
    originals   find a picture's source file again, safely

Searching (imports the core, reading and storing)
    library     a database opened for use: with the SQL functions below
    search      exact Hamming pairs (in one set or across two), k nearest, new-against-all
    kernels     search's compiled loops (used by search only)
    matching    the near-duplicate rule, as is and through turned or cropped variants
    nearby      store neighbours, near-duplicate pairs and clusters
    groups      near-duplicate groups: decisions and clusters (numpy only)
    duplicates  sets of files that are one picture or near-duplicates; the kept file
    lookup      nearest_images(), looks_like(): SQL functions, bounded (numpy only)
    lookgroups  look-alike groups (k-means) and the look order
    events      events: pictures taken without a gap of hours between them
    pages       what the plugin's pages read: folder counts, look strips, a picture

Commands (thin: `cli` parses, one of these does the work; imports anything)
    cli         the click commands          pipeline  cattags ingest
    sync        cattags sync                sort      cattags sort
    stats       cattags stats               fetch     cattags fetch
    demo        cattags demo-data

The Datasette plugin (datasette_cattags) imports the core, storing and
searching, never reading: serving never decodes a picture.
"""

__version__ = "0.1.0"
