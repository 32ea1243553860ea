"""Errors the library raises, each with a message a user can act on."""


class CattagsError(Exception):
    """Base class: the CLI turns these into a clean message and exit status."""


class UnreadableImage(CattagsError):
    """A file could not be read or decoded as a picture."""

    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage
        self.message = message


class NotACattagsDatabase(CattagsError):
    """The database has no cattags settings: `cattags ingest` never ran on it."""


class FolderOutsideRoot(CattagsError):
    """A folder name would leave the thumbnails root, or is not a safe name."""


class NotAFolder(FolderOutsideRoot):
    """A folder name that is an existing file."""


class FileInTheWay(CattagsError):
    """A move would overwrite another file of the same name: nothing moves."""


class MissingThumbnails(CattagsError):
    """Thumbnail files a move needs are not where the database says."""


class TooManyPictures(CattagsError):
    """More pictures than one move from the gallery takes: nothing moves."""


class UnknownPicture(CattagsError):
    """Image ids that are not in the database."""

    def __init__(self, image_ids: list[str]):
        super().__init__(f"no such picture: {', '.join(image_ids)}")
        self.image_ids = image_ids


class UnknownFile(CattagsError):
    """A path that is no present source file of the database."""

    def __init__(self, path: str):
        super().__init__(f"no such source file: {path} (paths are relative to the source folder)")
        self.path = path


class DamagedDatabase(CattagsError):
    """A database file that SQLite finds corrupt."""


class ReadOnlyDatabase(CattagsError):
    """A database this process cannot write, asked to change."""


class DatabaseBusy(CattagsError):
    """Another program holds the database's write lock for too long."""


class NoPictures(CattagsError):
    """A first ingest of a folder that holds no picture files."""
