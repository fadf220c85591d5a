"""Media through an S3-compatible store (``ai-music serve --object-store s3://bucket/prefix``; the ``[s3]`` extra).

Without it, media travel by path on a filesystem the engine and its Ray workers share. With it,
every file a job needs from another machine is also an object, keyed by its path under the data
dir: the engine puts an upload as it lands, a render task on a worker without the shared
filesystem gets the sources it lacks, renders, and puts its output, which the engine gets back
before its decode check. The endpoint and credentials are boto3's own (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``…, or a profile), so MinIO, Ceph or R2 work as S3 does. boto3 is imported
only when a store is configured.
"""
from __future__ import annotations

import functools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ObjectStoreError(RuntimeError):
    """The store was asked for but cannot serve; ``str()`` says why in one line."""


@dataclass(frozen=True)
class ObjectStore:
    """Where the media go besides the disk: picklable (two strings and a path), so it travels with a task."""

    bucket: str
    prefix: str
    root: Path   # the engine's data dir: an object's key is its path under it

    @classmethod
    def from_url(cls, url: str, root: Path) -> "ObjectStore":
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ObjectStoreError(f"--object-store takes s3://bucket[/prefix], not {url!r}")
        return cls(parts.netloc, parts.path.strip("/"), root.resolve())

    def key(self, path: Path) -> str:
        relative = Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def put(self, path: Path) -> None:
        _client().upload_file(str(path), self.bucket, self.key(path))

    def fetch(self, path: Path) -> Path:
        """``path``, got from the store first when this machine does not have it (written whole, then renamed)."""
        path = Path(path)
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        from botocore.exceptions import ClientError

        try:
            _client().download_file(self.bucket, self.key(path), str(part))
            os.replace(part, path)
        except ClientError as exc:  # not there either: as if it were missing on the shared disk
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(2, "No such file", path.name) from None
            raise
        finally:
            part.unlink(missing_ok=True)
        return path

    def check(self) -> None:
        """Fail at start, in one line, when the bucket cannot be reached (not at the first upload)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            _client().head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"cannot reach the object store s3://{self.bucket}: {exc}") from None


@functools.cache
def _client() -> Any:  # noqa: ANN401 - a boto3 S3 client (boto3 has no importable client type)
    """One client per process (boto3 clients are thread-safe); endpoint and credentials from boto3's environment."""
    try:
        import boto3
    except ImportError:
        raise ObjectStoreError("--object-store needs boto3: pip install 'ai-music[s3]'") from None
    return boto3.client("s3")
