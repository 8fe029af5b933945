"""Expected failures: one tree under `TianbaoError`, each carrying a message for the user (in Chinese).

The CLI catches `TianbaoError` once, prints its message on one line and exits 2; never a
traceback. Subclasses exist only where a caller catches them differently:

    TianbaoError
    ├── UserError            a bad option, a missing or unreadable file named on the command line
    ├── FormDefinitionError  a form definition is unreadable or inconsistent (names file and key)
    │   └── RuleSyntaxError  an assertion of the definition cannot be parsed
    ├── ReportLoadError      a report JSON cannot be used
    │   └── FormMismatch     …because it was filled on another form or form version (merge stops)
    ├── InputFileError       a submitted file cannot be read; becomes a `file.unreadable` finding
    │   ├── Rejected         …because it is not an .xlsx workbook at all (a .xls, a PDF, …)
    │   └── LimitExceeded    …because it exceeds a safety limit (with the limit and where)
    └── OfficeError          LibreOffice is missing or failed
"""

from __future__ import annotations


class TianbaoError(Exception):
    """An expected failure whose message (str(exc)) is for the user."""


class UserError(TianbaoError):
    """A problem the user can fix (bad option, unreadable roster, missing file)."""


class FormDefinitionError(TianbaoError):
    """A definition file is unreadable or inconsistent; the message names file and key."""


class RuleSyntaxError(FormDefinitionError):
    """An assertion of the definition cannot be parsed or names unknown cells."""


class ReportLoadError(TianbaoError):
    """A report JSON file cannot be used."""


class FormMismatch(ReportLoadError):
    """A report belongs to another form, or to a version of the form that is not accepted."""


class InputFileError(TianbaoError):
    """A submitted file cannot be read (damaged, unsafe, not a document we know)."""


class Rejected(InputFileError):
    """A file that is not a readable .xlsx workbook; the message tells the clerk what to do."""


class LimitExceeded(InputFileError):
    """A configured limit was hit; where (sheet, cell) when known, the limit as `expected`."""

    def __init__(self, message: str, expected: str, found: str, sheet: str | None = None,
                 cell: str | None = None) -> None:
        super().__init__(message)
        self.expected, self.found, self.sheet, self.cell = expected, found, sheet, cell


class OfficeError(TianbaoError):
    """LibreOffice is missing or failed."""
