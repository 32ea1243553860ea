"""Which pictures are near-duplicates: a rule on the sum of hash distances,
applied to the plain hashes and to the hashes of each picture's variants, so
that a copy turned, mirrored or (on request) cropped is found too.

A pair's distance is the smallest total over "as is" and every variant on
either side (a copy's plain hashes meet its original's variant, or the other
way round). Candidates come from the pigeonhole radius of each hash in the
rule, and every candidate is checked against the whole rule, so a full run
and an incremental one store the same pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .core import VARIANT_HASHES
from .errors import CattagsError
from .hashing import TURN_VARIANTS, VARIANT_NAMES

# phash + dhash <= 18 found every re-encoded, resized, brightened and blurred
# copy in real photos with no false pair, and extrapolates to under 5 false
# pairs per 100,000 photos; whash alone is a poor judge of "same photo".
HASHES = VARIANT_HASHES  # the hashes a rule may sum (variants pack them in this order)
RULE_PATTERN = re.compile(r"^\s*(\w+(?:\s*\+\s*\w+)*)\s*<=\s*(\d+)\s*$")
PLAIN = -1  # `Matches.how` of a pair that met as is
# A pair that meets only through a variant must be closer than the rule asks
# of a pair as is: on real photographs (benchmarks/duplicates.py) every
# mirrored or turned copy met its original's variant within 7 bits of
# phash+dhash and every 5% crop within 6, while unrelated pictures meet one
# of the 7 turns or 14 crops far more often than they meet as is.
TURN_SHARE = 1 / 2  # of the rule's limit, for mirrored and turned variants
CROP_SHARE = 1 / 3  # of the rule's limit, for cropped variants


@dataclass(frozen=True)
class Rule:
    """A near-duplicate rule: the sum of some hash distances within a limit."""

    hashes: tuple[str, ...]
    limit: int

    @property
    def name(self) -> str:
        return "+".join(self.hashes)

    def __str__(self) -> str:
        return f"{self.name}<={self.limit}"

    def variant_limit(self, variant: int) -> int:
        """The limit for a pair that meets through this variant."""
        share = TURN_SHARE if variant < TURN_VARIANTS else CROP_SHARE
        return int(self.limit * share)

    @property
    def candidate_radius(self) -> int:
        """If a sum of n distances is within the limit, one of them is within limit // n."""
        return self.limit // len(self.hashes)


def parse_rule(text: str) -> Rule:
    """'phash+dhash<=18' -> Rule(('phash', 'dhash'), 18), or a clear error."""
    match = RULE_PATTERN.match(text)
    if not match:
        raise CattagsError(f"cannot read the rule {text!r}: write it like phash+dhash<=18")
    hashes = tuple(h.strip() for h in match.group(1).split("+"))
    unknown = [h for h in hashes if h not in HASHES]
    if unknown or len(set(hashes)) != len(hashes):
        raise CattagsError(f"rule {text!r}: use each of {', '.join(HASHES)} at most once")
    limit, most = int(match.group(2)), 64 * len(hashes)
    if limit >= most:
        raise CattagsError(
            f"rule {text!r}: {len(hashes)} hash{'es' if len(hashes) > 1 else ''} of 64 bits"
            f" differ by {most} bits at most, so a limit of {limit} would join every pair:"
            " use a limit below that (the default is phash+dhash<=18)"
        )
    return Rule(hashes, limit)


@dataclass
class Codes:
    """Every picture's hashes, in id order."""

    ids: list[str]
    plain: dict[str, np.ndarray]  # hash name -> (N,) uint64
    variants: np.ndarray  # (N, variants, 3) uint64, hashes in VARIANT_HASHES order
    # (N, variants) bool: which each picture has (pictures stored before
    # variants have none, those stored before the later crops the first 11).
    has_variants: np.ndarray


@dataclass
class Matches:
    """Near-duplicate pairs (a < b, positions in `Codes.ids`), each with its
    total distance and how it met: PLAIN or an index into VARIANT_NAMES."""

    a: np.ndarray
    b: np.ndarray
    total: np.ndarray
    how: np.ndarray

    def label(self, n: int) -> str | None:
        """What the n-th pair's variant is called ("mirrored"), None when plain."""
        how = int(self.how[n])
        return None if how == PLAIN else VARIANT_NAMES[how]


@dataclass(frozen=True)
class Hashed:
    """One picture's or file's plain hashes and its variants' (in
    VARIANT_HASHES order, unsigned), for checking one pair in Python."""

    plain: tuple[int, ...]
    variants: tuple[tuple[int, ...], ...] = ()  # fewer than VARIANT_NAMES when stored before


def meets(rule: Rule, crops: bool, a: Hashed, b: Hashed) -> bool:
    """Whether two pictures meet the rule, as is or through a variant of
    either within that variant's limit: `find_duplicates` for one pair."""
    columns = [VARIANT_HASHES.index(name) for name in rule.hashes]

    def total(x: tuple[int, ...], y: tuple[int, ...]) -> int:
        return sum((x[c] ^ y[c]).bit_count() for c in columns)

    if total(a.plain, b.plain) <= rule.limit:
        return True
    for v in used_variants(crops):
        limit = rule.variant_limit(v)
        if v < len(b.variants) and total(a.plain, b.variants[v]) <= limit:
            return True
        if v < len(a.variants) and total(a.variants[v], b.plain) <= limit:
            return True
    return False


def used_variants(crops: bool) -> list[int]:
    """The variants a search compares: the turns, and the crops on request."""
    return list(range(len(VARIANT_NAMES) if crops else TURN_VARIANTS))


def find_duplicates(
    codes: Codes,
    rule: Rule,
    crops: bool = False,
    workers: int | None = None,
    new: np.ndarray | None = None,
) -> Matches:
    """Pairs within the rule among all pictures, or (new given) every such
    pair that has a new picture in it."""
    candidates = _candidates(
        codes=codes, rule=rule, variants=used_variants(crops), workers=workers, new=new
    )
    return _check(codes=codes, rule=rule, variants=used_variants(crops), pairs=candidates)


def _candidates(codes, rule, variants, workers, new) -> np.ndarray:
    """(a, b) position pairs, a < b, that may meet the rule: one of its hashes
    is within the pigeonhole radius as is or through a variant."""
    from .search import find_pairs, find_pairs_across, pairs_for_new

    radius = rule.candidate_radius
    # A variant's own limit is smaller, and so is its pigeonhole radius.
    within = {v: rule.variant_limit(v) // len(rule.hashes) for v in variants}
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for name in rule.hashes:
        plain = codes.plain[name]
        column = VARIANT_HASHES.index(name)
        if new is None:
            found.append(find_pairs(plain, radius, workers)[:2])
        else:
            found.append(pairs_for_new(codes=plain, new=new, radius=radius, workers=workers))
        for v in variants:
            with_variants = np.flatnonzero(codes.has_variants[:, v])
            turned = codes.variants[with_variants, v, column]
            if new is None:
                i, j, _ = find_pairs_across(
                    first=plain, second=turned, max_distance=within[v], workers=workers
                )
                found.append((i, with_variants[j]))
                continue
            # The new pictures' variants against everyone's plain hashes, and
            # the new pictures' plain hashes against everyone's variants.
            fresh = new[codes.has_variants[new, v]]
            i, j, _ = find_pairs_across(
                first=plain,
                second=codes.variants[fresh, v, column],
                max_distance=within[v],
                workers=workers,
            )
            found.append((i, fresh[j]))
            i, j, _ = find_pairs_across(
                first=plain[new], second=turned, max_distance=within[v], workers=workers
            )
            found.append((new[i], with_variants[j]))
    first = np.concatenate([f[0] for f in found]).astype(np.int64)
    second = np.concatenate([f[1] for f in found]).astype(np.int64)
    keep = first != second  # a symmetric picture meets its own variant
    pairs = np.stack([np.minimum(first, second)[keep], np.maximum(first, second)[keep]], axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def _check(codes, rule, variants, pairs) -> Matches:
    """The candidates within the rule (as is, or through a variant within
    that variant's limit), with their smallest total and how."""
    a, b = pairs[:, 0], pairs[:, 1]
    columns = [VARIANT_HASHES.index(name) for name in rule.hashes]
    far = np.int64(1 << 20)  # more than any total: "no such variant, or beyond its limit"

    def total(left, right) -> np.ndarray:
        return sum(
            np.bitwise_count(x ^ y).astype(np.int64) for x, y in zip(left, right, strict=True)
        )

    plain_a = [codes.plain[name][a] for name in rule.hashes]
    plain_b = [codes.plain[name][b] for name in rule.hashes]
    options = [total(plain_a, plain_b)]
    for v in variants:
        # b's variant against a as is, then a's variant against b as is.
        of_b = total(plain_a, [codes.variants[b, v, c] for c in columns])
        of_a = total([codes.variants[a, v, c] for c in columns], plain_b)
        within = rule.variant_limit(v)
        options.append(np.where(codes.has_variants[b, v] & (of_b <= within), of_b, far))
        options.append(np.where(codes.has_variants[a, v] & (of_a <= within), of_a, far))
    table = np.stack(options, axis=1) if len(a) else np.empty((0, 1), dtype=np.int64)
    best = table.argmin(axis=1)  # the first of equals: as is before any variant
    smallest = table[np.arange(len(a)), best]
    how = np.where(best == 0, PLAIN, np.array([PLAIN, *variants])[(best + 1) // 2])
    keep = smallest <= rule.limit
    return Matches(a=a[keep], b=b[keep], total=smallest[keep], how=how[keep])
