"""One submitted file in: what it is (by content), converted if asked, read into a report.

`import_file` is the unit of work of `tianbao import`, `check`, `annotate` and `merge`: it
never raises for a bad file, every failure becomes a finding. A workbook goes to the
workbook reader, a published report (.txt/.html/.docx/.pdf) to the document reader, a
.xls/.ods/.fods through LibreOffice with --convert, anything else is refused with what the
clerk should do. A published report with errors is kept (it cannot be sent back).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from tianbao.errors import InputFileError, LimitExceeded, OfficeError, Rejected
from tianbao.findings import emit, text
from tianbao.form import Form
from tianbao.io.names import shown_name
from tianbao.io.roster import Roster
from tianbao.report import Finding, Report, stamp
from tianbao.stages.office import convert
from tianbao.workbook.limits import DEFAULT_LIMITS, Limits
from tianbao.workbook.package import XlsxPackage, file_too_large
from tianbao.workbook.read import ReadOptions, ReadResult, identity_findings, read_workbook
from tianbao.workbook.return_mark import is_unchanged_return
from tianbao.workbook.sniff import sniff

CONVERTIBLE = ("xls", "ods", "fods")
# May be a published report, which tianbao.document.read reads ("unknown": GB18030 text, or
# UTF-8 whose first 4 KB end inside a character).
DOCUMENT_KINDS = ("docx", "html", "text", "csv", "unknown", "pdf")
# Excel and WPS keep "~$<name>" beside an open workbook: a few bytes naming who has it open.
_OWNER_FILE_PREFIX = "~$"


@dataclass
class ImportOutcome:
    source: Path
    report: Report | None
    findings: list[Finding]
    sha256: str
    # How the file is named to the clerk (path relative to the input folder, printable).
    name: str = ""
    saved_at: str | None = None  # when the workbook was last saved, as it states
    # A return workbook of annotate's, sent back with its values unchanged: not a submission.
    unchanged_return: bool = False

    def __post_init__(self) -> None:
        self.name = self.name or shown_name(self.source.name)

    @property
    def rejected(self) -> bool:
        if self.report is None:
            return True
        if self.from_document:
            # A published report cannot be sent back: it is kept with its errors (unless another
            # file already gave this unit's report).
            return any(f.rule == "identity.duplicate" and f.is_error for f in self.findings)
        return any(f.blocking for f in self.findings)

    @property
    def from_document(self) -> bool:
        return self.report is not None and self.report.provenance.source_kind == "document"

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if not f.is_error)


def rejection(kind: str) -> str:
    """What a file of this kind is, and what the clerk should do (file.unreadable's kind.* variants)."""
    return text("file.unreadable", f"kind.{kind}")


def workbook_bytes(data: bytes, name: str, convert_other: bool, kind: str | None = None) -> tuple[bytes, list[Finding]]:
    """The .xlsx bytes to read from a submitted file, by content; Rejected otherwise.

    Together with `read_bytes` the single place that decides what a submitted file is."""
    kind = kind or sniff(data)
    if kind == "xlsx":
        return data, []
    if kind in CONVERTIBLE and convert_other:
        converted = _convert_to_xlsx(data, name, kind)
        what = rejection(kind).split("。")[0].removeprefix("这是")
        return converted, [emit("file.converted", what=what)]
    raise Rejected(rejection(kind))


def _convert_to_xlsx(data: bytes, name: str, kind: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tianbao-convert-") as folder:
        source = Path(folder) / f"input.{kind}"
        source.write_bytes(data)
        try:
            target = convert(source, "xlsx", Path(folder) / "out")
        except OfficeError as exc:  # its message is Chinese and names no temporary file
            raise Rejected(text("file.unreadable", "convert_failed", rejection=rejection(kind), reason=exc)) from exc
        return target.read_bytes()


def import_file(
    path: Path, form: Form, *, roster: Roster | None = None, year: int | None = None, strict: bool = False,
    convert: bool = False, limits: Limits = DEFAULT_LIMITS, name: str | None = None, unit_name: str | None = None,
) -> ImportOutcome:
    """Read one submitted file into a report with findings; never raises for a bad file.
    `name` is how the file is shown (default: its name); `unit_name` names the unit of a
    published report that states none."""
    return import_read(path, form, ReadOptions(roster, year, strict, unit_name), convert, limits, name)[0]


def import_read(path: Path, form: Form, options: ReadOptions, convert_other: bool,
                limits: Limits, name: str | None = None) -> tuple[ImportOutcome, ReadResult | None]:
    """`import_file`, also giving what the reader saw (raw text of refused inputs, identity)."""
    sha = ""
    name = name or shown_name(path.name)
    try:
        if path.stat().st_size > limits.max_file_bytes:
            raise file_too_large(path.stat().st_size, limits)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        result, notes = read_bytes(data, name, form, options, convert_other, limits)
    except LimitExceeded as exc:
        finding = emit("file.unreadable", "refused", sheet=exc.sheet, cell=exc.cell, expected=exc.expected,
                       found=exc.found, reason=exc)
        return ImportOutcome(path, None, [finding], sha, name), None
    except InputFileError as exc:
        return ImportOutcome(path, None, [emit("file.unreadable", "refused", reason=exc)], sha, name), None
    except OSError as exc:
        finding = emit("file.unreadable", "os", reason=exc.strerror or exc)
        return ImportOutcome(path, None, [finding], sha, name), None
    except Exception as exc:  # a hostile or broken file must never stop the batch
        finding = emit("file.unreadable", "crashed", kind=type(exc).__name__)
        return ImportOutcome(path, None, [finding], sha, name), None
    findings = notes + result.findings
    report = result.report
    if report is not None:
        report.findings = findings  # one list for outcome and report: a finding added later reaches both
        report.provenance = stamp(result.meta.get("source_kind", "workbook"), name, sha,
                                  result.meta.get("generated_at"))
    return ImportOutcome(path, report, findings, sha, name, result.meta.get("saved_at"),
                         is_unchanged_return(result.meta, report)), result


def read_bytes(data: bytes, name: str, form: Form, options: ReadOptions, convert_other: bool,
               limits: Limits) -> tuple[ReadResult, list[Finding]]:
    kind = sniff(data)
    if PurePath(name).name.startswith(_OWNER_FILE_PREFIX) and kind != "xlsx" and len(data) < 4096:
        raise Rejected(rejection("lock"))
    if kind in DOCUMENT_KINDS:
        # The document reader loads for the first file that may be a published report: a
        # tenth of `check`'s start-up otherwise, when every file is a workbook.
        from tianbao.document.read import sniff_document

        if sniff_document(data):
            return _read_document(data, name, form, options, kind), []
    xlsx, notes = workbook_bytes(data, name, convert_other, kind)
    return read_workbook(XlsxPackage(xlsx, limits), form, options, name), notes


def _read_document(data: bytes, name: str, form: Form, options: ReadOptions, kind: str) -> ReadResult:
    """A published report (.txt/.html/.docx/.pdf, see document.read), then a workbook's identity checks."""
    from tianbao.document.read import Hints, apply_roster, read_document_bytes

    report, findings = read_document_bytes(data, name, form, Hints(options.unit_name, options.year))
    if report is None:
        reason = findings[0].message
        if kind == "pdf":  # a PDF can only be a published report
            raise Rejected(text("file.unreadable", "refused", reason=reason))
        raise Rejected(text("file.unreadable", "not_a_report", rejection=rejection(kind), reason=reason))
    if options.roster is not None:
        findings += apply_roster(form, report, options.roster)
    identity = identity_findings(form, report, options)
    return ReadResult(report, identity + findings, meta={"source_kind": "document"})
