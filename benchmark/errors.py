"""The two kinds of failure (STYLE.md 6): a user error stops the command with
one line and exit code 2; a trial error is recorded and the search goes on."""


class UserError(Exception):
    """Bad input: printed as one line, exit code 2, nothing written."""

    exit_code = 2


class TrialError(Exception):
    """A trial that cannot produce a score (NaN loss, bad architecture...)."""


class DataError(UserError):
    """Bad data for a suite's data set entry. ``key`` is the path inside the
    entry (``target``, ``preprocess.one_hot``) that the runner prefixes with
    the suite file and ``datasets.<name>`` to make the one-line message."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message
