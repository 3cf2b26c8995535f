"""The two kinds of failure (STYLE.md 6): a user error stops the command with
one line and exit code 2; a trial error is recorded and the search goes on."""


class UserError(Exception):
    """Bad input: printed as one line, exit code 2, nothing written."""

    exit_code = 2


class TrialError(Exception):
    """A trial that cannot produce a score (NaN loss, bad architecture...)."""
