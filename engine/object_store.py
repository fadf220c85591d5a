"""Media through an S3-compatible store (``ai-music serve --object-store s3://bucket/prefix``; the ``[s3]`` extra).

Without it, media travel by path on a filesystem the engine and its Ray workers share. With it,
every file a job needs from another machine is also an object, keyed by its path under the data
dir: the engine puts an upload as it lands, a render task on a worker without the shared
filesystem gets the sources it lacks, renders, and puts its output, which the engine gets back
before its decode check. The endpoint and credentials are boto3's own (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``…, or a profile), so MinIO, Ceph or R2 work as S3 does. boto3 is imported
only when a store is configured.

What the engine deletes on its disk (a project, a superseded render, a stale cache file) it
deletes in the store too (:meth:`ObjectStore.delete`, :meth:`ObjectStore.delete_tree`): bounded
(a few thousand keys a call, short timeouts) and idempotent (a key already gone is not an error),
and never failing the caller — the disk is freed either way; an object left by an outage is
logged (a bucket lifecycle rule on the prefix is the backstop).
"""
from __future__ import annotations

import functools
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DELETE_BATCH = 1000       # keys per DeleteObjects request (S3's limit)
DELETE_MAX_KEYS = 20_000  # per delete_tree call: one project's objects, never a walk of the whole bucket
log = logging.getLogger(__name__)


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

    def put_once(self, path: Path) -> None:
        """Put ``path`` unless its key is there already: for content-addressed files (same key, same bytes)."""
        if not self.exists(path):
            self.put(path)

    def exists(self, path: Path) -> bool:
        from botocore.exceptions import ClientError

        try:
            _client().head_object(Bucket=self.bucket, Key=self.key(path))
            return True
        except ClientError as exc:
            if _missing(exc):
                return False
            raise

    def write(self, path: Path, data: bytes) -> None:
        """A small object (a progress report) at ``path``'s key, whole or not at all (S3 puts are atomic).
        On the quick client: a report that cannot go now is replaced by the next one anyway."""
        _client(quick=True).put_object(Bucket=self.bucket, Key=self.key(path), Body=data)

    def read(self, path: Path) -> bytes | None:
        """A small object's bytes, or None when there is none."""
        from botocore.exceptions import ClientError

        try:  # on the quick client: the engine polls progress often, and must notice a finished render in time
            return _client(quick=True).get_object(Bucket=self.bucket, Key=self.key(path))["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

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
            if _missing(exc):
                raise FileNotFoundError(2, "No such file", path.name) from None
            raise
        finally:
            part.unlink(missing_ok=True)
        return path

    def delete(self, *paths: Path) -> None:
        """Delete the objects of ``paths`` (the disk's copies are gone). Keys already gone are fine."""
        try:
            keys = [self.key(path) for path in paths]
        except ValueError as exc:  # a path outside the data dir has no object: nothing to delete, nothing raised
            log.warning("not deleting objects of paths outside the data dir: %s", exc)
            return
        self._delete(keys)

    def delete_tree(self, folder: Path) -> None:
        """Delete every object under ``folder`` (a project's uploads, a render's attempt folder), up to
        DELETE_MAX_KEYS of them; what is left over is logged (the next delete of the folder goes on)."""
        keys: list[str] = []
        try:
            prefix = self.key(folder).rstrip("/") + "/"  # sessions/12/ never matches sessions/123/
            pages = _client().get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"MaxItems": DELETE_MAX_KEYS + 1})
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        except Exception as exc:  # noqa: BLE001 - freeing the disk never fails on the store's account
            log.warning("could not list s3://%s under %s to delete it: %s", self.bucket, folder.name, _reason(exc))
            return
        if len(keys) > DELETE_MAX_KEYS:
            log.warning("s3://%s/%s holds more than %d objects: deleting the first ones only", self.bucket, prefix,
                        DELETE_MAX_KEYS)
        self._delete(keys[:DELETE_MAX_KEYS])

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start:start + DELETE_BATCH]
            try:
                answer = _client().delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
                failed = answer.get("Errors", [])
            except Exception as exc:  # noqa: BLE001 - as above: logged, the caller's work goes on
                log.warning("could not delete %d objects from s3://%s: %s", len(batch), self.bucket, _reason(exc))
                continue
            if failed:
                log.warning("could not delete %d objects from s3://%s (first: %s: %s)", len(failed), self.bucket,
                            failed[0].get("Key"), failed[0].get("Code"))

    def check(self) -> None:
        """Fail at start, in one line, when the bucket cannot be reached (not at the first upload)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            _client().head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise ObjectStoreError(f"cannot reach the object store s3://{self.bucket}: {exc}") from None


def _missing(exc: Exception) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def _reason(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


@functools.cache
def _client(quick: bool = False) -> Any:  # noqa: ANN401 - a boto3 S3 client (boto3 has no importable client type)
    """One client per process and kind (boto3 clients are thread-safe); endpoint and credentials from boto3's
    environment. Short timeouts and few retries: a store that stopped answering fails a call in seconds, not
    minutes; ``quick`` (small progress objects, read and written every second): one try of 2 s."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ObjectStoreError("--object-store needs boto3: pip install 'ai-music[s3]'") from None
    if quick:
        return boto3.client("s3", config=Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1}))
    return boto3.client("s3", config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3}))
