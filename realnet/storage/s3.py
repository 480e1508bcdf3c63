"""Content in S3 (or an S3-compatible service): ``<bucket>/<prefix>/<key>``.

Content up to one part is a single PUT; larger content is a multipart upload of 8 MiB
parts, streamed with the SHA-256 computed on the way, and aborted on any failure so
that no part is left billed and nothing incomplete becomes visible.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from realnet.core.content import ContentMissing
from realnet.core.errors import StoreError
from realnet.storage.base import (
    CHUNK,
    KEY,
    BackgroundSha256,
    ContentStore,
    Stored,
    check_key,
    new_key,
)

if TYPE_CHECKING:
    from realnet.config import Settings

PART = 8 * 1024 * 1024  # S3 wants at least 5 MiB for every part but the last
#: Parts uploading at once. Against moto (bench/content_bench.py): 2 gave 0.72 of boto3
#: upload_file's rate (three runs), 3 gave 0.68–0.88 (four runs, 0.80 typical) and 4 about
#: the same. Each part in flight holds about twice its size (the body and botocore's
#: signing and checksum passes): 3 peaks ~50 MB over a 1 KiB put, 4 reached 62 MB.
IN_FLIGHT = 3
#: S3 error codes for credentials that are wrong, not for a key that lacks a permission
REFUSED = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken")


class S3Content(ContentStore):
    def __init__(self, settings: Settings) -> None:
        from botocore.config import Config

        from realnet.aws import new_client

        self.bucket = settings.storage_bucket or ""
        self.prefix = f"{settings.storage_prefix}/" if settings.storage_prefix else ""
        self.label = f"s3://{self.bucket}/{self.prefix}"
        self.endpoint = settings.aws_endpoint_url
        self._client = new_client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_key,
            aws_secret_access_key=settings.s3_secret,
            config=Config(retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=5,
                          read_timeout=60, s3={"addressing_style": "path"} if self.endpoint else None),
        )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    # -- errors ----------------------------------------------------------------------
    def _failure(self, error: Exception, doing: str) -> StoreError:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        where = f"{self.label} ({self.endpoint or 'AWS'})"
        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchBucket", "404") and doing == "check":
                return StoreError(f"REALNET_STORAGE_S3_BUCKET={self.bucket}: no such bucket at {where}")
            if code in REFUSED:  # the code tells a wrong key id from a wrong secret
                return StoreError(f"{where}: the credentials were refused ({code}) while trying to {doing} "
                                  "(check REALNET_STORAGE_S3_KEY and REALNET_STORAGE_S3_SECRET)")
            if code in ("AccessDenied", "403"):
                return StoreError(f"{where}: access denied while trying to {doing} (check "
                                  "REALNET_STORAGE_S3_KEY and REALNET_STORAGE_S3_SECRET)")
            return StoreError(f"{where}: cannot {doing} ({code or error})")
        if isinstance(error, NoCredentialsError):
            return StoreError(f"{where}: no credentials (set REALNET_STORAGE_S3_KEY and "
                              "REALNET_STORAGE_S3_SECRET)")
        if isinstance(error, EndpointConnectionError):
            return StoreError(f"{where}: cannot connect to the endpoint (check REALNET_AWS_ENDPOINT_URL)")
        return StoreError(f"{where}: cannot {doing} ({type(error).__name__}: {error})")

    def _call(self, doing: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, method)(**kwargs)
        except (BotoCoreError, ClientError) as e:
            raise self._failure(e, doing) from None

    def check(self) -> None:
        self._call("check", "head_bucket", Bucket=self.bucket)

    # -- content ---------------------------------------------------------------------
    def write(self, chunks: Iterable[bytes], *, content_type: str | None = None) -> Stored:
        key = new_key()
        with BackgroundSha256() as digest:
            return self._write(key, digest, chunks, content_type)

    def _write(self, key: str, digest: BackgroundSha256, chunks: Iterable[bytes],
               content_type: str | None) -> Stored:
        name = self._name(key)
        size = 0
        extra = {"ContentType": content_type} if content_type else {}
        pending: list[bytes] = []
        pending_size = 0
        stream = iter(chunks)
        for chunk in stream:  # the first part decides: one PUT or a multipart upload
            digest.update(chunk)
            size += len(chunk)
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= PART:
                break
        else:
            self._call("store content", "put_object", Bucket=self.bucket, Key=name, Body=b"".join(pending),
                       **extra)
            return Stored(key, size, digest.hexdigest())
        upload = self._call("start an upload", "create_multipart_upload", Bucket=self.bucket, Key=name,
                            **extra)["UploadId"]
        parts: list[dict[str, Any]] = []
        # Parts upload on threads while the next is read and hashed: the network and the
        # reading overlap, and at most IN_FLIGHT + 1 parts (and what botocore makes of those
        # sending) are ever in memory.
        sender = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="realnet-s3-part")
        in_flight: deque[Future[None]] = deque()
        try:
            for chunk in stream:
                digest.update(chunk)
                size += len(chunk)
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= PART:
                    self._send(sender, in_flight, name, upload, parts, pending)
                    pending, pending_size = [], 0
            if pending or not parts:
                self._send(sender, in_flight, name, upload, parts, pending)
            while in_flight:
                in_flight.popleft().result()
            self._call("finish an upload", "complete_multipart_upload", Bucket=self.bucket, Key=name,
                       UploadId=upload, MultipartUpload={"Parts": parts})
        except BaseException:
            for future in in_flight:
                future.cancel()
                with suppress(BaseException):
                    future.result()
            with suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload)
            raise
        finally:
            sender.shutdown(wait=True)
        return Stored(key, size, digest.hexdigest())

    def _send(self, sender: ThreadPoolExecutor, in_flight: deque[Future[None]], name: str, upload: str,
              parts: list[dict[str, Any]], chunks: list[bytes]) -> None:
        """Send this part (numbered now, in order) once fewer than IN_FLIGHT are on their way."""
        while len(in_flight) >= IN_FLIGHT:
            in_flight.popleft().result()
        parts.append({"PartNumber": len(parts) + 1})
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        in_flight.append(sender.submit(self._part, name, upload, parts[-1], data))

    def _part(self, name: str, upload: str, part: dict[str, Any], data: bytes) -> None:
        answer = self._call("upload a part", "upload_part", Bucket=self.bucket, Key=name, UploadId=upload,
                            PartNumber=part["PartNumber"], Body=data)
        part["ETag"] = answer["ETag"]

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        name = self._name(key)  # refuses a key this store did not make
        extra = {}
        empty = end is not None and end <= start
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            if empty:  # nothing to read, but the content must exist, as on every store
                self._client.head_object(Bucket=self.bucket, Key=name)
                return iter(())
            body = self._client.get_object(Bucket=self.bucket, Key=name, **extra)["Body"]
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ContentMissing(key, self.label) from None
            if code == "InvalidRange":  # starts at or past the end: no bytes, as a file gives
                return iter(())
            raise self._failure(e, "read content") from None
        except Exception as e:
            raise self._failure(e, "read content") from None
        return _stream(body, self)

    def delete(self, key: str) -> None:
        self._call("delete content", "delete_object", Bucket=self.bucket, Key=self._name(key))

    def keys(self, older_than: float) -> Iterator[str]:
        limit = datetime.fromtimestamp(older_than, UTC)
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        try:
            for page in pages:
                for entry in page.get("Contents", ()):
                    name = entry["Key"][len(self.prefix):]
                    if KEY.fullmatch(name) and entry["LastModified"] < limit:
                        yield name
        except Exception as e:
            raise self._failure(e, "list content") from None

    def sweep_incomplete(self, older_than: float) -> int:
        limit = datetime.fromtimestamp(older_than, UTC)
        answer = self._call("list uploads", "list_multipart_uploads", Bucket=self.bucket, Prefix=self.prefix)
        removed = 0
        for upload in answer.get("Uploads", ()):
            if upload["Initiated"] < limit:
                self._call("abort an upload", "abort_multipart_upload", Bucket=self.bucket,
                           Key=upload["Key"], UploadId=upload["UploadId"])
                removed += 1
        return removed

    def close(self) -> None:
        self._client.close()


def _stream(body: Any, store: S3Content) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    except Exception as e:
        raise store._failure(e, "read content") from None
    finally:
        body.close()
