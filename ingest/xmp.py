"""What is kept of a picture's XMP: all of it when small, else the fields a
person reads, cut to a few KB, and a note of what was left out.

XMP can be any size (a PNG or TIFF can carry 50 MB of it). It is copied into
the thumbnail's text chunks and into `images.xmp`, so an unbounded packet
would make a 50 MB "thumbnail" that every visitor of a published instance
can ask for. JPEG packets stop at 64 KB anyway.
"""

from __future__ import annotations

import json

READ_LIMIT = 1024 * 1024  # bytes of a packet worth parsing; larger ones are not read
KEPT_LIMIT = 4096  # bytes of JSON kept of one picture's XMP
FIELD_LIMIT = 400  # characters kept of one field when the whole packet is too large
FIELDS = ("title", "description", "creator", "rights", "subject", "CreateDate", "Rating")
TRUNCATED = "truncated"  # the key that says what was left out


def unread_packet(size: int) -> dict[str, object]:
    """What is kept of a packet too large to parse: the note alone."""
    return {TRUNCATED: {"bytes": size, "why": f"over {READ_LIMIT} bytes: not read"}}


def kept_xmp(packet: object, size: int) -> object:
    """`packet` (parsed XMP) itself when its JSON fits KEPT_LIMIT; else its
    well-known fields, each cut to FIELD_LIMIT, and a note of the packet's
    size in bytes."""
    if len(json.dumps(packet)) <= KEPT_LIMIT:
        return packet
    found = {name: cut(value) for name, value in xmp_fields(packet).items()}
    return {**found, TRUNCATED: {"bytes": size, "why": f"over {KEPT_LIMIT} bytes as JSON"}}


def cut(text: str) -> str:
    """At most FIELD_LIMIT characters, an ellipsis saying where it was cut."""
    return text if len(text) <= FIELD_LIMIT else text[: FIELD_LIMIT - 1] + "\u2026"


def xmp_fields(packet: object) -> dict[str, str]:
    """The FIELDS found anywhere in parsed XMP, as {name: text}, in FIELDS order."""
    found: dict[str, str] = {}
    pending = [packet]
    while pending:  # a walk without recursion: packets can nest deeply
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                name = str(key).split("}")[-1].split(":")[-1]
                if name in FIELDS and name not in found:
                    found[name] = flatten(value)
            pending.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            pending.extend(reversed(node))
    return {name: found[name] for name in FIELDS if found.get(name)}


def flatten(value: object) -> str:
    """The text inside an XMP value (rdf:Alt, rdf:Bag and the like), without
    its language tags (xml:lang="x-default")."""
    if isinstance(value, dict):
        texts = (flatten(v) for k, v in value.items() if str(k).split("}")[-1] != "lang")
        return ", ".join(filter(None, texts))
    if isinstance(value, list):
        return ", ".join(filter(None, (flatten(v) for v in value)))
    return str(value).strip()
