"""Issues found in a file (row-level) and file-level refusals."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Issue:
    """One row-level error or warning, located as a person sees it.

    ``sheet`` is the worksheet name (for a CSV the file name), ``row`` the 1-based row as shown in Excel or a
    text editor, ``column`` the header text, ``value`` what was found, ``message`` the reason in Chinese,
    including what was expected.
    """

    sheet: str
    row: int
    column: str
    value: str
    message: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict with the five keys above, for JSON."""
        return asdict(self)


class ImportFileError(Exception):
    """The whole file is refused before or while parsing; ``message`` is Chinese and shown to the uploader."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FileTooLargeError(ImportFileError):
    """The file is bigger than the byte limit, or has more rows than the row limit."""


class ZipBombError(ImportFileError):
    """An xlsx whose unpacked size or compression ratio is over the cap."""


class UnsupportedFormatError(ImportFileError):
    """Not an xlsx/xls workbook nor a text (CSV) file: a PDF, an image, a web page saved as .xls, a corrupt or
    encrypted workbook. The message names what the file is and how to save it instead."""


class EmptyFileError(ImportFileError):
    """A file with no content at all (0 bytes, only blanks, or a workbook whose sheets are all empty)."""


class UndecodableFileError(ImportFileError):
    """A text file that is neither UTF-8 (with or without BOM) nor GB18030/GBK."""


class NoHeaderError(ImportFileError):
    """No row near the top carries the expected column names."""


class MissingColumnsError(ImportFileError):
    """The header row was found but required columns are absent; ``missing`` lists their names."""

    def __init__(self, message: str, missing: tuple[str, ...]):
        super().__init__(message)
        self.missing = missing
