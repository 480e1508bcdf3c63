"""Content by reference: ``put`` reads an S3 object into a file item, ``fetch`` writes a file
item's content to an S3 object. Only buckets named in REALNET_SQS_CONTENT_BUCKETS are
reached, so a message cannot make the runner read or write anything else its credentials
allow. Both stream in constant memory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from realnet.core.errors import NotFound, PermissionDenied, StoreError
from realnet.storage.base import HashingReader

if TYPE_CHECKING:
    from realnet.config import Settings
    from realnet.core.context import Context
    from realnet.core.item import Item

CHUNK = 1024 * 1024


class ObjectRefs:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.buckets = frozenset(settings.sqs_content_buckets)
        self._client: Any = None
        self._lock = threading.Lock()

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                from realnet.runners.sqs.client import aws_client

                self._client = aws_client(self.settings, "s3")
            return self._client

    def _allowed(self, ref: dict[str, str], field: str) -> tuple[str, str]:
        bucket, key = ref["bucket"], ref["key"]
        if bucket not in self.buckets:
            allowed = ", ".join(sorted(self.buckets)) or "none"
            raise PermissionDenied(f"message.{field}.bucket: {bucket!r} is not in "
                                   f"REALNET_SQS_CONTENT_BUCKETS (allowed: {allowed})")
        return bucket, key

    def put(self, context: Context, path: str, ref: dict[str, str], *, content_type: str | None,
            parents: bool) -> Item:
        from realnet.core.content import put

        bucket, key = self._allowed(ref, "from")
        where = f"s3://{bucket}/{key}"
        body = self._call(where, "read", lambda: self._s3().get_object(Bucket=bucket, Key=key))
        try:
            return put(context, path, _chunks(body["Body"], where), parents=parents,
                       content_type=content_type or _plain(body.get("ContentType")))
        finally:
            body["Body"].close()

    def fetch(self, context: Context, path: str, ref: dict[str, str]) -> dict[str, Any]:
        from realnet.core.content import open_read

        bucket, key = self._allowed(ref, "to")
        item, chunks = open_read(context, path)
        reader = HashingReader(chunks)
        where = f"s3://{bucket}/{key}"
        extra = {"ContentType": item.attributes.get("content_type") or "application/octet-stream"}
        self._call(where, "write", lambda: self._s3().upload_fileobj(reader, bucket, key, ExtraArgs=extra))
        size, sha = item.attributes.get("size"), item.attributes.get("sha256")
        sent = reader.digest.hexdigest()
        # A file of a mounted folder records no digest: its size is what can be checked.
        if reader.count != size or (sha is not None and sent != sha):
            self._call(where, "remove", lambda: self._s3().delete_object(Bucket=bucket, Key=key))
            raise StoreError(f"{path}: the stored content does not match its size and sha256; "
                             f"{where} was not kept")
        return {"bucket": bucket, "key": key, "size": size, "sha256": sent}

    def _call(self, where: str, doing: str, call: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404") and doing == "read":
                raise NotFound(where, "no such object") from None
            if code == "NoSuchBucket":
                raise NotFound(where, "no such bucket") from None
            if code in ("AccessDenied", "403"):
                raise PermissionDenied(f"{where}: access denied to the runner's credentials") from None
            raise StoreError(f"{where}: cannot {doing} ({code or e})") from None
        except BotoCoreError as e:
            raise StoreError(f"{where}: cannot {doing} ({type(e).__name__})") from None


def _chunks(body: Any, where: str) -> Iterator[bytes]:
    from botocore.exceptions import BotoCoreError

    try:
        yield from body.iter_chunks(CHUNK)
    except BotoCoreError as e:
        raise StoreError(f"{where}: the read broke off ({type(e).__name__})") from None


def _plain(content_type: str | None) -> str | None:
    """S3's default type says nothing: let the name decide instead."""
    return None if content_type in (None, "", "binary/octet-stream") else content_type
