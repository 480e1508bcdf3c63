"""The content stores behind file items, each against the real thing: a local folder in
a temporary directory, and S3 spoken over HTTP to moto in server mode.

Both stores must keep the same promises (realnet/storage/base.py): bytes come back as
written, with the size and SHA-256 hashlib computes; content is visible only once complete
(a failed write leaves nothing visible and, for S3, no pending multipart upload); keys are
only those the store issues; and every failure the user can act on is a StoreError that
names the setting to fix, never a raw OSError or botocore traceback.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import os
import random
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from s3server import MotoProcess, free_port, s3_client

from realnet.config import load_settings
from realnet.core.errors import NotFound, StoreError, ValidationError
from realnet.storage import open_content
from realnet.storage.base import CHUNK, KEY, ContentStore
from realnet.storage.local import INCOMING, LocalContent
from realnet.storage.s3 import PART, S3Content

KIB = 1024
MIB = 1024 * 1024
LIVENESS = 20.0  # seconds: a hang detector for failures that should come back quickly
REFUSED_WITHIN = 10.0  # seconds: a refused loopback connection, after a few quick retries at most


# -- the two stores, and a look behind their backs ---------------------------------------


@dataclass
class Backend:
    kind: str
    store: ContentStore
    root: Path | None = None  # local
    client: Any = None  # s3: a plain boto3 client on the same endpoint
    bucket: str = ""
    prefix: str = ""

    def location(self, key: str) -> str:
        return f"{key[:2]}/{key}" if self.kind == "local" else self.prefix + key

    def objects(self) -> list[str]:
        """Everything complete that the backend holds (not only what keys() admits)."""
        if self.kind == "local":
            assert self.root is not None
            if not self.root.exists():
                return []
            return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                          if p.is_file() and p.parent.name != INCOMING)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))

    def incomplete(self) -> list[str]:
        """What unfinished writes left: .part files, or pending multipart uploads."""
        if self.kind == "local":
            assert self.root is not None
            incoming = self.root / INCOMING
            return sorted(p.name for p in incoming.iterdir()) if incoming.is_dir() else []
        answer = self.client.list_multipart_uploads(Bucket=self.bucket)
        return sorted(u["Key"] for u in answer.get("Uploads", ()))


def local_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    root = tmp_path / "stores" / "content"
    monkeypatch.setenv("REALNET_STORAGE_PATH", str(root))
    store = open_content(load_settings())
    assert isinstance(store, LocalContent)
    return Backend("local", store, root=root)


def s3_backend(settings) -> Backend:
    store = open_content(settings)
    assert isinstance(store, S3Content)
    prefix = f"{settings.storage_prefix}/" if settings.storage_prefix else ""
    return Backend("s3", store, client=s3_client(settings.aws_endpoint_url), bucket=settings.storage_bucket,
                   prefix=prefix)


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    if request.param == "local":
        chosen = local_backend(tmp_path, monkeypatch)
    else:
        chosen = s3_backend(request.getfixturevalue("s3_settings"))
    yield chosen
    chosen.store.close()


# -- data ------------------------------------------------------------------------------


@functools.cache
def random_bytes(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def read_all(store: ContentStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


def failing_source(total: int, chunk: int = MIB) -> Iterator[bytes]:
    """Yields ``total`` bytes, then fails as a client that goes away would."""
    sent = 0
    while sent < total:
        yield bytes([sent // chunk % 256]) * chunk
        sent += chunk
    raise ConnectionResetError("the uploading client went away")


# -- round trips -------------------------------------------------------------------------

ROUND_TRIPS = {
    "empty-no-chunks": (0, None),
    "empty-one-empty-chunk": (0, 0),
    "1-byte": (1, 1),
    "1-KiB-uneven-chunks": (KIB, 300),
    "exactly-one-part": (PART, MIB),
    "20-MiB-odd-chunks": (20 * MIB, 100_003),
}


@pytest.mark.parametrize(("size", "chunk"), ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_round_trip_keeps_bytes_size_and_sha256(backend: Backend, size: int, chunk: int | None) -> None:
    data = random_bytes(size)
    if chunk is None:
        chunks: Iterable[bytes] = iter(())
    elif chunk == 0:
        chunks = iter([b""])
    else:
        chunks = pieces(data, chunk)  # a generator: the store must not need len() or a second pass

    stored = backend.store.write(chunks, content_type="application/x-test")

    assert KEY.fullmatch(stored.key)
    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    back = list(backend.store.read(stored.key))
    assert b"".join(back) == data
    assert all(len(piece) <= CHUNK for piece in back), "read() must stream in chunks of at most CHUNK"
    assert backend.objects() == [backend.location(stored.key)], "the content must exist exactly once"
    assert backend.incomplete() == []
    if backend.kind == "s3":
        head = backend.client.head_object(Bucket=backend.bucket, Key=backend.location(stored.key))
        assert head["ContentLength"] == size
        assert head["ContentType"] == "application/x-test"
        if size > PART:  # the multipart path: S3 marks such an ETag with the number of parts
            assert head["ETag"].strip('"').endswith(f"-{-(-size // PART)}"), head["ETag"]
        elif size < PART:  # one PUT
            assert "-" not in head["ETag"], head["ETag"]


def test_every_write_gets_its_own_key(backend: Backend) -> None:
    first = backend.store.write([b"same"])
    second = backend.store.write([b"same"])
    assert first.key != second.key
    assert read_all(backend.store, first.key) == read_all(backend.store, second.key) == b"same"


# -- ranges ------------------------------------------------------------------------------

RANGES = {
    "start-only": (100, None),
    "start-and-end": (100, 200),
    "from-zero-to-end": (0, KIB),
    "end-beyond-size": (1000, 5000),
    "whole-with-end-beyond": (0, 5000),
    "last-byte": (KIB - 1, None),
    "empty-range": (10, 10),
    "end-before-start": (20, 10),
    "start-at-size": (KIB, None),
    "start-beyond-size": (2000, None),
    "start-and-end-beyond-size": (2000, 3000),
}


@pytest.mark.parametrize(("start", "end"), RANGES.values(), ids=RANGES.keys())
def test_ranged_reads(backend: Backend, start: int, end: int | None) -> None:
    data = random_bytes(KIB)
    key = backend.store.write([data]).key
    expected = data[start:end] if end is None or end >= start else b""
    assert read_all(backend.store, key, start, end) == expected


@pytest.mark.parametrize(("start", "end"), [(CHUNK - 5, CHUNK + 5), (CHUNK, None), (1, 3 * MIB - 1)],
                         ids=["across-a-chunk-boundary", "from-a-chunk-boundary", "all-but-the-ends"])
def test_ranged_reads_of_large_content(backend: Backend, start: int, end: int | None) -> None:
    data = random_bytes(3 * MIB)
    key = backend.store.write(pieces(data, MIB)).key
    assert read_all(backend.store, key, start, end) == data[start:end]


@pytest.mark.parametrize(("start", "end"), [(0, None), (0, 10), (5, None)], ids=["whole", "range", "start"])
def test_ranged_reads_of_empty_content(backend: Backend, start: int, end: int | None) -> None:
    key = backend.store.write([]).key
    assert read_all(backend.store, key, start, end) == b""


# -- missing content and deletion -----------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [(0, None), (10, 20), (5, 5)], ids=["whole", "range", "empty-range"])
def test_reading_a_missing_key_is_not_found(backend: Backend, start: int, end: int | None) -> None:
    missing = "0123456789abcdef0123456789abcdef"
    with pytest.raises(NotFound) as caught:
        read_all(backend.store, missing, start, end)
    assert missing in str(caught.value)


def test_a_missing_key_fails_before_the_first_byte(backend: Backend) -> None:
    """Faces answer 404 from read() itself, before they start streaming a 200 response."""
    with pytest.raises(NotFound):
        backend.store.read("0123456789abcdef0123456789abcdef")  # not iterated


def test_deleted_content_is_not_found_and_deleting_again_is_fine(backend: Backend) -> None:
    kept = backend.store.write([b"kept"]).key
    gone = backend.store.write([b"gone"]).key
    backend.store.delete(gone)
    with pytest.raises(NotFound):
        read_all(backend.store, gone)
    backend.store.delete(gone)  # already gone: fine
    backend.store.delete("fedcba9876543210fedcba9876543210")  # never existed: fine
    assert backend.objects() == [backend.location(kept)]
    assert read_all(backend.store, kept) == b"kept"


# -- keys() ----------------------------------------------------------------------------------


def test_keys_lists_exactly_the_written_content(backend: Backend) -> None:
    written = {backend.store.write([bytes([n]) * (n + 1)]).key for n in range(5)}
    # things in the store's place that it did not write must never be offered to gc
    if backend.kind == "local":
        assert backend.root is not None
        (backend.root / "README").write_text("not content")
        (backend.root / "zz").mkdir()
        (backend.root / "zz" / "notes.txt").write_text("not content")
        (backend.root / INCOMING / f"{'a' * 32}.part").write_bytes(b"incomplete")
    else:
        backend.client.put_object(Bucket=backend.bucket, Key="notes.txt", Body=b"not content")
        backend.client.put_object(Bucket=backend.bucket, Key=f"sub/{'a' * 32}", Body=b"not ours")
        backend.client.create_multipart_upload(Bucket=backend.bucket, Key="b" * 32)
    assert set(backend.store.keys(older_than=time.time() + 1)) == written
    assert len(list(backend.store.keys(older_than=time.time() + 1))) == len(written)
    assert list(backend.store.keys(older_than=0)) == []


def test_keys_of_an_empty_store(backend: Backend) -> None:
    assert list(backend.store.keys(older_than=time.time() + 1)) == []


# -- failed writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("fail_after", [0, MIB, 10 * MIB], ids=["at-once", "after-1-MiB", "after-10-MiB"])
def test_a_failing_source_leaves_nothing_behind(backend: Backend, fail_after: int) -> None:
    earlier = backend.store.write([b"earlier"]).key
    before = set(backend.store.keys(time.time() + 1))

    with pytest.raises(ConnectionResetError, match="went away"):  # the source's own error, not masked
        backend.store.write(failing_source(fail_after))

    assert set(backend.store.keys(time.time() + 1)) == before == {earlier}
    assert backend.objects() == [backend.location(earlier)]
    assert backend.incomplete() == [], "no .part file / pending multipart upload may be left"


# -- sweep_incomplete ------------------------------------------------------------------------


def test_local_sweep_removes_only_stale_part_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = local_backend(tmp_path, monkeypatch)
    kept = backend.store.write([b"complete"]).key
    assert backend.root is not None
    incoming = backend.root / INCOMING
    stale = incoming / f"{'1' * 32}.part"
    fresh = incoming / f"{'2' * 32}.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))

    assert backend.store.sweep_incomplete(older_than=time.time() - 3600) == 1
    assert not stale.exists()
    assert fresh.exists(), "a write still in progress must not be swept"
    assert backend.store.sweep_incomplete(older_than=time.time() + 1) == 1
    assert backend.incomplete() == []
    assert read_all(backend.store, kept) == b"complete"


def test_s3_sweep_aborts_stale_multipart_uploads(s3_settings) -> None:
    backend = s3_backend(s3_settings)
    kept = backend.store.write([b"complete"]).key
    client, bucket = backend.client, backend.bucket
    name = "3" * 32
    upload = client.create_multipart_upload(Bucket=bucket, Key=name)["UploadId"]
    client.upload_part(Bucket=bucket, Key=name, UploadId=upload, PartNumber=1, Body=b"x" * (5 * MIB))
    assert backend.incomplete() == [name]

    # moto reports every upload as initiated in 2010, so "a fresh upload survives a sweep
    # with an older limit" cannot be checked against it; the limit itself can
    assert backend.store.sweep_incomplete(older_than=0) == 0
    assert backend.incomplete() == [name]
    assert backend.store.sweep_incomplete(older_than=time.time() + 1) == 1
    assert backend.incomplete() == []
    assert backend.objects() == [kept]
    assert read_all(backend.store, kept) == b"complete"


def test_s3_prefix_keeps_the_store_to_its_own_part_of_the_bucket(
        s3_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALNET_STORAGE_S3_PREFIX", "/tenant/a/")
    backend = s3_backend(load_settings())
    assert backend.prefix == "tenant/a/"
    client, bucket = backend.client, backend.bucket
    mine = backend.store.write(pieces(random_bytes(9 * MIB), MIB)).key  # multipart under the prefix
    small = backend.store.write([b"small"]).key
    foreign = "c" * 32
    client.put_object(Bucket=bucket, Key=foreign, Body=b"someone else's")
    client.put_object(Bucket=bucket, Key=f"tenant/ab/{'d' * 32}", Body=b"a neighbour's")
    client.create_multipart_upload(Bucket=bucket, Key=f"tenant/b/{'e' * 32}")

    assert backend.objects() == sorted([f"tenant/a/{mine}", f"tenant/a/{small}", foreign,
                                        f"tenant/ab/{'d' * 32}"])
    assert set(backend.store.keys(time.time() + 1)) == {mine, small}
    with pytest.raises(NotFound):
        read_all(backend.store, foreign)
    assert backend.store.sweep_incomplete(time.time() + 1) == 0, "another prefix's upload is not ours"
    assert backend.incomplete() == [f"tenant/b/{'e' * 32}"]


# -- keys the store did not issue ---------------------------------------------------------------

BAD_KEYS = {
    "traversal": "../../etc/passwd",
    "dot-dot-in-key": "ab/..",
    "absolute": "/etc/passwd",
    "uppercase": "0123456789ABCDEF0123456789ABCDEF",
    "empty": "",
    "too-short": "0" * 31,
    "too-long": "0" * 33,
    "not-hex": "g" * 32,
    "trailing-newline": "0" * 32 + "\n",
    "prefix-escape": "../" + "0" * 29,
}


def snapshot(top: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(top).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(top.rglob("*"))}


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
@pytest.mark.parametrize("operation", ["read", "read-empty-range", "delete"])
def test_keys_not_issued_by_the_store_are_refused(backend: Backend, tmp_path: Path, key: str,
                                                  operation: str) -> None:
    kept = backend.store.write([b"kept"]).key
    outside = tmp_path / "stores" / "etc"  # where ../../etc/passwd would land from a local key folder
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "passwd").write_text("root:x:0:0")
    (tmp_path / "etc").mkdir(exist_ok=True)
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0")
    before = snapshot(tmp_path)

    with pytest.raises(ValidationError):
        if operation == "read":
            read_all(backend.store, key)
        elif operation == "read-empty-range":
            read_all(backend.store, key, 5, 5)
        else:
            backend.store.delete(key)

    assert snapshot(tmp_path) == before, "nothing inside or outside the root may change"
    assert backend.objects() == [backend.location(kept)]
    assert Path("/etc/passwd").exists()


# -- S3 misconfiguration and faults ---------------------------------------------------------------


def test_s3_check_of_a_missing_bucket_names_the_setting(s3_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    s3_backend(s3_settings).store.check()  # the fixture's bucket exists
    monkeypatch.setenv("REALNET_STORAGE_S3_BUCKET", "rn-no-such-bucket")
    store = open_content(load_settings())
    with pytest.raises(StoreError) as caught:
        store.check()
    assert "REALNET_STORAGE_S3_BUCKET" in str(caught.value)
    assert "rn-no-such-bucket" in str(caught.value)
    with pytest.raises(StoreError):
        store.write([b"nowhere to go"])


def test_s3_endpoint_where_nothing_listens(s3_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every operation reports a refused connection as a StoreError naming the endpoint setting,
    within seconds. The operations run side by side: each one waits out botocore's retries."""
    monkeypatch.setenv("REALNET_AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    settings = load_settings()
    key = "0123456789abcdef0123456789abcdef"
    actions = {
        "check": lambda store: store.check(),
        "write": lambda store: store.write([b"abc"]),
        "write-multipart": lambda store: store.write(pieces(random_bytes(9 * MIB), MIB)),
        "read": lambda store: read_all(store, key),
        "delete": lambda store: store.delete(key),
        "keys": lambda store: list(store.keys(time.time())),
        "sweep": lambda store: store.sweep_incomplete(time.time()),
    }

    def attempt(operation: str) -> tuple[BaseException | None, float]:
        store = open_content(settings)
        began = time.monotonic()
        try:
            actions[operation](store)
        except BaseException as e:
            return e, time.monotonic() - began
        finally:
            store.close()
        return None, time.monotonic() - began

    with concurrent.futures.ThreadPoolExecutor(len(actions)) as pool:
        outcomes = dict(zip(actions, pool.map(attempt, actions), strict=True))
    print("\nrefused connection reported after: "
          + ", ".join(f"{op} {took:.2f} s" for op, (_, took) in outcomes.items()))
    wrong = {op: f"{type(error).__module__}.{type(error).__name__}: {error}" for op, (error, _) in outcomes.items()
             if type(error) is not StoreError or "REALNET_AWS_ENDPOINT_URL" not in str(error)}
    assert not wrong, wrong
    slow = {op: round(took, 2) for op, (_, took) in outcomes.items() if took >= REFUSED_WITHIN}
    assert not slow, f"seconds to report a refused connection: {slow}"


def test_s3_endpoint_stopped_in_the_middle_of_a_multipart_write(s3_fault) -> None:
    backend = s3_backend(s3_fault.settings)
    earlier = backend.store.write([b"earlier"]).key

    def source() -> Iterator[bytes]:
        for n in range(24):
            if n == 12:  # part 1 is uploaded, the upload is pending: the endpoint goes away
                s3_fault.server.stop()
            yield bytes([n]) * MIB

    began = time.monotonic()
    with pytest.raises(StoreError) as caught:
        backend.store.write(source())
    took = time.monotonic() - began
    print(f"\nendpoint stopped mid-write: StoreError after {took:.2f} s: {caught.value}")
    assert type(caught.value) is StoreError, type(caught.value)
    assert caught.value.__suppress_context__, "no botocore traceback chained to the error"
    assert "REALNET_AWS_ENDPOINT_URL" in str(caught.value)
    assert took < 2 * LIVENESS, f"{took:.1f} s to report a vanished endpoint"

    s3_fault.server.start()  # same port: moto's state survived
    assert backend.objects() == [earlier], "nothing incomplete may have become visible"
    assert set(backend.store.keys(time.time() + 1)) == {earlier}
    # the abort could not reach the endpoint either: the pending upload is what gc sweeps
    pending = backend.incomplete()
    assert len(pending) <= 1
    assert backend.store.sweep_incomplete(time.time() + 1) == len(pending)
    assert backend.incomplete() == []
    # and the same store object works again once the endpoint is back
    data = random_bytes(9 * MIB)
    again = backend.store.write(pieces(data, MIB))
    assert read_all(backend.store, again.key) == data


def test_s3_endpoint_stopped_in_the_middle_of_a_read(s3_fault) -> None:
    """A read cut off midway raises a StoreError: it never ends early as if the content were shorter."""
    backend = s3_backend(s3_fault.settings)
    data = random_bytes(20 * MIB)
    key = backend.store.write(pieces(data, MIB)).key
    received = bytearray()
    stream = backend.store.read(key)
    received += next(stream)
    s3_fault.server.stop()
    try:
        for piece in stream:
            received += piece
    except StoreError as e:
        assert type(e) is StoreError
        assert len(received) < len(data)
        print(f"\nread cut off after {len(received) / MIB:.1f} MiB: {e}")
    else:  # everything was already on its way before the endpoint went: then it must be complete
        print(f"\nread completed although the endpoint stopped ({len(received) / MIB:.1f} MiB)")
        assert bytes(received) == data


def test_s3_endpoint_from_the_standard_aws_variable(s3_settings, s3_server: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REALNET_AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    settings = load_settings()
    assert settings.aws_endpoint_url == s3_server
    backend = s3_backend(settings)
    key = backend.store.write([b"via AWS_ENDPOINT_URL"]).key
    assert backend.objects() == [key]


@pytest.fixture
def hostile_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What a developer's shell might hold; set before s3_settings runs."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-from-the-outside")
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "50")
    config = tmp_path / "aws-config"
    config.write_text("[default]\nendpoint_url = http://127.0.0.1:9\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


def test_the_s3_fixture_shuts_out_the_outside_aws_environment(hostile_aws_environment, s3_settings,
                                                              s3_server: str) -> None:
    assert s3_settings.aws_endpoint_url == s3_server
    assert not any(k.startswith("AWS_") and k not in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                                                      "AWS_EC2_METADATA_DISABLED") for k in os.environ)
    backend = s3_backend(s3_settings)
    key = backend.store.write([b"isolated"]).key
    assert read_all(backend.store, key) == b"isolated"


# -- local misconfiguration -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["root-is-a-file", "parent-is-a-file"])
@pytest.mark.parametrize("operation", ["check", "write", "read", "delete"])
def test_local_root_that_cannot_be_a_folder_names_the_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, operation: str) -> None:
    # root runs these tests and chmod does not stop root: a regular file in the way does
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    root = blocker if where == "root-is-a-file" else blocker / "content"
    monkeypatch.setenv("REALNET_STORAGE_PATH", str(root))
    store = open_content(load_settings())
    key = "0123456789abcdef0123456789abcdef"
    actions = {
        "check": store.check,
        "write": lambda: store.write([b"abc"]),
        "read": lambda: read_all(store, key),
        "delete": lambda: store.delete(key),
    }
    with pytest.raises(StoreError) as caught:
        actions[operation]()
    assert "REALNET_STORAGE_PATH" in str(caught.value)
    assert str(root) in str(caught.value)
    assert blocker.read_text() == "a regular file"


# -- memory: streaming, not buffering ---------------------------------------------------------------

STREAM_TOTAL = 100 * MIB
MEMORY_LIMIT = 64 * MIB


@pytest.fixture(scope="module")
def s3_process() -> Iterator[str]:
    """moto in a child process: its copy of the 100 MiB must not count against ours."""
    try:
        server = MotoProcess().start()
    except (RuntimeError, OSError) as e:
        pytest.fail(f"cannot start moto_server for the memory test: {e}")
    try:
        yield server.url
    finally:
        server.stop()


def measured(action) -> tuple[Any, int, float]:
    """(result, tracemalloc peak in bytes, seconds). The peak counts every Python allocation
    of the process while ``action`` runs (ru_maxrss is useless here: earlier tests in the
    same process have already raised the lifetime peak)."""
    tracemalloc.start()
    began = time.monotonic()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, time.monotonic() - began


def test_the_memory_measure_sees_buffering() -> None:
    """The instrument itself: holding 100 MiB of 1 MiB chunks at once shows as such."""
    held, peak, _ = measured(lambda: [bytes([n % 251]) * MIB for n in range(STREAM_TOTAL // MIB)])
    assert len(held) == STREAM_TOTAL // MIB
    assert peak >= STREAM_TOTAL


def test_s3_streams_100_mib_in_bounded_memory(s3_process: str, s3_settings,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client = s3_client(s3_process)
    client.create_bucket(Bucket=s3_settings.storage_bucket)
    monkeypatch.setenv("REALNET_AWS_ENDPOINT_URL", s3_process)
    store = open_content(load_settings())
    expected = hashlib.sha256()

    def source() -> Iterator[bytes]:
        for n in range(STREAM_TOTAL // MIB):
            chunk = bytes([n % 251]) * MIB  # a new 1 MiB object each time, as from a socket
            expected.update(chunk)
            yield chunk

    stored, peak, took = measured(lambda: store.write(source()))
    print(f"\nS3 write of 100 MiB: {took:.1f} s, tracemalloc peak {peak / MIB:.1f} MiB")
    assert stored.size == STREAM_TOTAL
    assert stored.sha256 == expected.hexdigest()
    assert peak < MEMORY_LIMIT, f"writing 100 MiB held {peak / MIB:.1f} MiB at once"

    def read_back() -> str:
        digest = hashlib.sha256()
        for piece in store.read(stored.key):
            digest.update(piece)
        return digest.hexdigest()

    sha, peak, took = measured(read_back)
    print(f"S3 read of 100 MiB: {took:.1f} s, tracemalloc peak {peak / MIB:.1f} MiB")
    assert sha == expected.hexdigest()
    assert peak < MEMORY_LIMIT, f"reading 100 MiB held {peak / MIB:.1f} MiB at once"


def test_local_streams_100_mib_in_bounded_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = local_backend(tmp_path, monkeypatch).store

    def source() -> Iterator[bytes]:
        for n in range(STREAM_TOTAL // MIB):
            yield bytes([n % 251]) * MIB

    stored, peak, took = measured(lambda: store.write(source()))
    print(f"\nlocal write of 100 MiB: {took:.1f} s, tracemalloc peak {peak / MIB:.1f} MiB")
    assert stored.size == STREAM_TOTAL
    assert peak < MEMORY_LIMIT

    total, peak, took = measured(lambda: sum(len(p) for p in store.read(stored.key)))
    print(f"local read of 100 MiB: {took:.1f} s, tracemalloc peak {peak / MIB:.1f} MiB")
    assert total == STREAM_TOTAL
    assert peak < MEMORY_LIMIT
