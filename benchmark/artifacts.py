"""Where each study's selected model is saved: Optuna's artifact store, a
folder (the default; a shared one for workers on several machines) or an
S3-compatible bucket (``s3://BUCKET``), so that a model refitted by a worker
on another machine reaches the user.

An S3 store uses boto3's usual configuration (credentials and region from the
environment or ``~/.aws``); ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``)
points it at another S3-compatible server (MinIO, Ceph, a cloud's S3 API)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

S3 = "s3://"
# Bucket names as S3 allows them (3-63 lower-case letters, digits, dots, hyphens).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def problem(location: str) -> str | None:
    """Why ``location`` (execution.artifacts) cannot be a store, or None."""
    if not location.startswith(S3):
        return None
    bucket = _bucket(location)
    if "/" in bucket:
        return (f"{location!r}: Optuna's S3 artifact store writes at the top of a bucket; "
                f"give s3://BUCKET (a bucket of its own for this tool's models)")
    if not _BUCKET.fullmatch(bucket):
        return (f"{location!r} is not an S3 bucket name; valid: 3 to 63 lower-case letters, "
                f"digits, dots and hyphens, e.g. s3://benchmark-models")
    try:
        import boto3  # noqa: F401
    except ImportError:
        return (f"{location!r}: an S3 store needs boto3; install it with "
                f"pip install 'suitebench[s3]' (or pip install boto3)")
    return None


def _bucket(location: str) -> str:
    return location[len(S3):].rstrip("/")


def is_remote(location: str) -> bool:
    return location.startswith(S3)


def resolved(location: str) -> str:
    """A folder as an absolute path (workers elsewhere resolve it themselves); a bucket as given."""
    return location if is_remote(location) else str(Path(location).resolve())


def store(location: str, create: bool = True) -> Any:
    """Optuna's artifact store for ``location``: Boto3ArtifactStore for
    ``s3://BUCKET``, else FileSystemArtifactStore on the folder (created
    unless ``create`` is false: reading a model must not leave a folder)."""
    if is_remote(location):
        from optuna.artifacts import Boto3ArtifactStore

        return Boto3ArtifactStore(_bucket(location))
    from optuna.artifacts import FileSystemArtifactStore

    if create:
        Path(location).mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(location)
