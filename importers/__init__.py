"""Pure readers for the files administrators and departments send: reward-item lists and data feeds.

They return typed records plus row-level errors and warnings (a preview); nothing here touches a database.
"""

from importers.allocations import Allocation
from importers.errors import (
    EmptyFileError,
    FileTooLargeError,
    ImportFileError,
    Issue,
    MissingColumnsError,
    NoHeaderError,
    UndecodableFileError,
    UnsupportedFormatError,
    ZipBombError,
)
from importers.feeds import FeedImport, read_feed
from importers.items import ItemImport, ItemRecord, read_items
from importers.source import Limits

__all__ = [
    "EmptyFileError",
    "Allocation",
    "FeedImport",
    "FileTooLargeError",
    "ImportFileError",
    "Issue",
    "ItemImport",
    "ItemRecord",
    "Limits",
    "MissingColumnsError",
    "NoHeaderError",
    "UndecodableFileError",
    "UnsupportedFormatError",
    "ZipBombError",
    "read_feed",
    "read_items",
]
