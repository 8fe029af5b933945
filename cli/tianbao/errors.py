"""Expected failures, each carrying a message for the user (in Chinese)."""


class UserError(Exception):
    """A problem the user can fix (bad option, unreadable roster, missing file).

    The CLI prints the message on one line and exits non-zero; never a traceback.
    """
