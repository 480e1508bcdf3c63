"""FileBytes: a local file's bytes as chunks, or copied into another file in the kernel with
the SHA-256 of what was written; every way the kernel may refuse a copy falls back to the next."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from pathlib import Path

import pytest

from realnet.storage.filebytes import CHUNK, STEP, FileBytes, WrittenSha256

SIZES = [0, 1, CHUNK - 1, STEP + 12_345]  # empty, tiny, under a chunk, several unaligned steps


class Unreadable(Exception):
    pass


class Unwritable(Exception):
    pass


def data_of(size: int) -> bytes:
    return os.urandom(size)


def reader(path: Path, start: int = 0, end: int | None = None, **options) -> FileBytes:
    return FileBytes(os.open(path, os.O_RDONLY), start, end,
                     unreadable=lambda e: Unreadable(e.strerror), **options)


def copy(source: FileBytes, target: Path, **options) -> tuple[bytes, int, str]:
    """Copy into a new file; what the file holds, and the size and digest copy_into gave."""
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        written = source.copy_into(fd, unwritable=lambda e: Unwritable(e.strerror), **options)
        size, digest = written.size, written.hexdigest()
    finally:
        os.close(fd)
    return target.read_bytes(), size, digest


def closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as e:
        return e.errno == errno.EBADF
    return False


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("write_back", [False, True])
def test_a_copy_holds_the_bytes_and_their_digest(tmp_path, size, write_back):
    data = data_of(size)
    (tmp_path / "source").write_bytes(data)
    moved: list[int] = []
    source = reader(tmp_path / "source", on_chunk=moved.append)
    copied, count, digest = copy(source, tmp_path / "copy", write_back=write_back)
    assert copied == data
    assert (count, digest) == (size, hashlib.sha256(data).hexdigest())
    assert sum(moved) == size and all(0 < m <= STEP for m in moved)
    assert closed(source.fd)


def test_a_copy_of_a_range(tmp_path):
    data = data_of(STEP + 3 * CHUNK)
    (tmp_path / "source").write_bytes(data)
    start, end = CHUNK + 7, STEP + 2 * CHUNK + 11
    copied, count, digest = copy(reader(tmp_path / "source", start, end), tmp_path / "copy")
    assert copied == data[start:end]
    assert (count, digest) == (end - start, hashlib.sha256(data[start:end]).hexdigest())


def test_a_copy_across_file_systems_falls_back_to_sendfile(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system (tmpfs at /dev/shm) to copy from")
    data = data_of(STEP + 5)
    source = shm / f"realnet-test-{os.getpid()}"
    source.write_bytes(data)
    try:
        copied, count, digest = copy(reader(source), tmp_path / "copy")
    finally:
        source.unlink()
    assert (copied, count, digest) == (data, len(data), hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize("refused", [["copy_file_range"], ["copy_file_range", "sendfile"]])
def test_a_kernel_without_the_copy_calls_still_copies(tmp_path, monkeypatch, refused):
    def no_such_call(*args):
        raise OSError(errno.ENOSYS, "Function not implemented")

    for name in refused:
        monkeypatch.setattr(os, name, no_such_call)
    data = data_of(2 * STEP + 1)
    (tmp_path / "source").write_bytes(data)
    copied, count, digest = copy(reader(tmp_path / "source"), tmp_path / "copy")
    assert (copied, count, digest) == (data, len(data), hashlib.sha256(data).hexdigest())


def test_a_copy_from_a_pipe(tmp_path):
    data = data_of(STEP + CHUNK + 9)
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    source = FileBytes(read_end)
    assert not source.regular
    copied, count, digest = copy(source, tmp_path / "copy")
    feeder.join()
    assert (copied, count, digest) == (data, len(data), hashlib.sha256(data).hexdigest())


def test_a_file_that_says_it_is_empty_but_is_not(tmp_path):
    proc = Path("/proc/version")
    if not proc.exists() or proc.stat().st_size != 0:
        pytest.skip("no /proc file of size 0 here")
    copied, count, digest = copy(reader(proc), tmp_path / "copy")
    expected = proc.read_bytes()
    assert count > 0 and (copied, count, digest) == (expected, len(expected), hashlib.sha256(expected).hexdigest())


def test_chunks_of_a_range_and_the_descriptor_closed_at_the_end(tmp_path):
    data = data_of(3 * CHUNK + 5)
    (tmp_path / "source").write_bytes(data)
    source = reader(tmp_path / "source", 5, 2 * CHUNK + 8)
    chunks = list(source)
    assert b"".join(chunks) == data[5:2 * CHUNK + 8]
    assert max(map(len, chunks)) == CHUNK
    assert closed(source.fd)
    assert next(source, None) is None


def test_a_full_destination_is_the_writers_error_and_closes_the_source(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    (tmp_path / "source").write_bytes(data_of(CHUNK))
    source = reader(tmp_path / "source")
    full = os.open("/dev/full", os.O_RDWR)
    try:
        with pytest.raises(Unwritable, match="No space left"):
            source.copy_into(full, unwritable=lambda e: Unwritable(e.strerror))
    finally:
        os.close(full)
    assert closed(source.fd)


def test_a_source_that_cannot_be_read_is_the_readers_error(tmp_path):
    folder = os.open(tmp_path, os.O_RDONLY)
    source = FileBytes(folder, unreadable=lambda e: Unreadable(e.strerror))
    with pytest.raises(Unreadable, match="Is a directory"):
        next(source)
    assert closed(folder)
    out = tmp_path / "copy"
    with pytest.raises(Unreadable, match="Is a directory"):
        copy(FileBytes(os.open(tmp_path, os.O_RDONLY), unreadable=lambda e: Unreadable(e.strerror)), out)
    assert out.read_bytes() == b""


def test_a_stream_cannot_start_part_way(tmp_path):
    read_end, write_end = os.pipe()
    os.close(write_end)
    with pytest.raises(Unreadable, match="part-way"):
        FileBytes(read_end, 10, unreadable=lambda e: Unreadable(e.strerror))
    assert closed(read_end)


def test_the_digest_is_of_the_file_as_it_is_now(tmp_path):
    """Stretches are read back from the file, not taken from whoever wrote them."""
    path = tmp_path / "written"
    data = bytearray(data_of(STEP + 10_000))
    path.write_bytes(data)
    fd = os.open(path, os.O_RDWR)
    try:
        digest = WrittenSha256(fd)
        digest.add(0, 4097)  # unaligned stretches
        digest.add(4097, STEP)
        os.pwrite(fd, b"changed", STEP + 4100)  # in the last stretch, before it is reported
        data[STEP + 4100:STEP + 4107] = b"changed"
        digest.add(STEP + 4097, len(data) - STEP - 4097)
        assert (digest.size, digest.hexdigest()) == (len(data), hashlib.sha256(data).hexdigest())
    finally:
        os.close(fd)


def test_a_file_shorter_than_reported_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"x" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        digest = WrittenSha256(fd)
        digest.add(0, 8192)
        with pytest.raises(OSError, match="shorter"):
            digest.hexdigest()
    finally:
        os.close(fd)


def test_an_abandoned_digest_stops(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    fd = os.open(path, os.O_RDONLY)
    try:
        digest = WrittenSha256(fd)
        digest.add(0, 10)
        digest.abandon()
        assert not digest._thread.is_alive()
    finally:
        os.close(fd)
