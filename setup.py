from setuptools import setup

VERSION = "0.1.0"


def long_description():
    with open("README.md", encoding="utf-8") as handle:
        return handle.read()


setup(
    name="datasette-cattags",
    description="Classify photos by folder: perceptual hashes, thumbnails and tags in SQLite, browsed in Datasette",
    long_description=long_description(),
    long_description_content_type="text/markdown",
    version=VERSION,
    license="Apache License, Version 2.0",
    packages=["ingest", "datasette_cattags"],
    package_data={"datasette_cattags": ["templates/**/*", "static/*"]},
    entry_points={
        "datasette": ["cattags = datasette_cattags"],
        "console_scripts": ["cattags = ingest.cli:cli"],
    },
    python_requires=">=3.11",
    install_requires=[
        "datasette>=0.65",
        "sqlite-utils>=4.0",
        "pillow>=10",
        "imagehash>=4.3",
        "click>=8",
        "httpx",
        "numpy>=2",
        "numba>=0.60",
        "scipy",
        "defusedxml",
    ],
    extras_require={
        "test": [
            "pytest",
            "pytest-asyncio",
            "hypothesis",
            "playwright",
            "ruff",
        ],
    },
)
