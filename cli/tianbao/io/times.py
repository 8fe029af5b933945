"""Times as a person reads them: local `YYYY-MM-DD HH:MM` in workbooks and the terminal; the
JSON keeps the ISO timestamp it was given."""

from __future__ import annotations

from datetime import datetime

SHOWN_FORMAT = "%Y-%m-%d %H:%M"


def shown_time(iso: str | None) -> str:
    """An ISO timestamp in the machine's time zone, to the minute ("" when there is none; the
    text itself when it is not a timestamp, so nothing the tool was given is hidden)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    # A timestamp without a zone is already local time (as Excel and WPS save it).
    return (moment.astimezone() if moment.tzinfo else moment).strftime(SHOWN_FORMAT)
