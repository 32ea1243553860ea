"""Camera RAW files (DNG, CR2, NEF, ARW and the rest), read through rawpy
(LibRaw), the optional `raw` extra.

A RAW file holds the sensor's mosaic, not a picture: something has to
develop it. Most carry a JPEG preview the camera developed itself; where
that preview is large enough it is the picture (as a photo tool shows it),
else the mosaic is developed at half size with the camera's white balance.
Either way the picture is turned upright, so its size, hashes and thumbnail
are those of the photograph as it is shown; its width and height are the
sensor's full picture.
"""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath

from PIL import Image

from .errors import UnreadableImage
from .scanning import RAW_SUFFIXES

RAW_MISSING = "a camera RAW picture: reading it needs rawpy (pip install 'datasette-cattags[raw]')"
PREVIEW_SIDE = 1024  # an embedded preview with a long side this big or more is the picture
# LibRaw's flip values and the turn that puts the picture upright.
UPRIGHT = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.ROTATE_90,
    6: Image.Transpose.ROTATE_270,
}


def is_raw(relative: str) -> bool:
    """Whether a file is a camera RAW file, by its suffix (most RAW formats
    are TIFF inside, so their first bytes do not tell)."""
    return PurePosixPath(relative).suffix.lower() in RAW_SUFFIXES


def read_raw(source: bytes | Path, relative: str) -> tuple[Image.Image, tuple[int, int]]:
    """The developed picture and the size of its full picture, upright; or
    UnreadableImage saying why not."""
    try:
        import rawpy
    except ImportError:
        raise UnreadableImage("decode", RAW_MISSING) from None
    opened = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with rawpy.imread(opened) as raw:
            sizes = raw.sizes
            img = embedded_preview(raw, rawpy)
            if img is None:
                img, how = developed(raw), "developed at half size"
            else:  # a preview lies as the sensor does
                how = "the camera's preview"
                if sizes.flip in UPRIGHT:
                    img = img.transpose(UPRIGHT[sizes.flip])
    except (rawpy.LibRawError, OSError, ValueError) as error:
        raise UnreadableImage("decode", f"broken camera RAW file: {error}") from error
    img.format = PurePosixPath(relative).suffix.lstrip(".").upper()
    img.format_description = f"camera RAW, {how}"
    full = (sizes.height, sizes.width) if sizes.flip in (5, 6) else (sizes.width, sizes.height)
    return img, full


def embedded_preview(raw, rawpy) -> Image.Image | None:
    """The camera's own JPEG (or bitmap) preview when its long side is at
    least PREVIEW_SIDE; None when it has none that big."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        img = Image.open(io.BytesIO(thumb.data))
        img.load()
    else:
        img = Image.fromarray(thumb.data)
    return img if max(img.size) >= PREVIEW_SIDE else None


def developed(raw) -> Image.Image:
    """The mosaic developed at half size (a quarter of the work), with the
    camera's white balance, upright (LibRaw turns it)."""
    return Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8))
