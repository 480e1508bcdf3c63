"""File content end to end: put, get, fetch, cat, replace, rm, cp, gc, bad input,
permissions and memory, on the local content folder and on S3 (a moto endpoint).

Bytes that must come back exactly are read through ``python -m realnet`` child
processes: the in-process ``cli`` fixture writes to text streams. The content store is
inspected behind Realnet's back (the content folder, or the bucket through boto3), so
that a test sees every key, every ``.part`` file and every pending multipart upload
that is left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clikit import one_error

from realnet.app import open_context
from realnet.config import Settings, load_settings
from realnet.storage import open_content
from realnet.storage.base import KEY, new_key

MiB = 1024 * 1024
#: moto answers ListMultipartUploads with a constant Initiated of 2010-11-10T20:48:33Z
#: (moto/s3/responses.py), so on moto every pending upload looks older than any grace and
#: "the default grace keeps a fresh incomplete upload" cannot be checked there.
MOTO_FIXED_INITIATED = True
TIMEOUT = 300  # seconds: a hang detector for child processes, not a performance bound


# -- the store, seen from behind -------------------------------------------------------


class StoreView:
    """What the content store holds, read directly (not through Realnet)."""

    def __init__(self, kind: str, settings: Settings) -> None:
        self.kind = kind
        self.settings = settings
        if kind == "s3":
            from s3server import s3_client

            self.client = s3_client(settings.aws_endpoint_url)
            self.bucket = settings.storage_bucket
            self.prefix = f"{settings.storage_prefix}/" if settings.storage_prefix else ""
        else:
            assert settings.storage_path is not None
            self.root = Path(settings.storage_path)

    def objects(self) -> set[str]:
        """Every complete object: content keys, and anything else that is there."""
        if self.kind == "s3":
            names = set()
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                names |= {entry["Key"] for entry in page.get("Contents", ())}
            return {n[len(self.prefix):] if n.startswith(self.prefix) else n for n in names}
        if not self.root.is_dir():
            return set()
        found = set()
        for path in self.root.rglob("*"):
            if path.is_dir() or path.parent.name == "incoming":
                continue
            relative = path.relative_to(self.root)
            is_key = len(relative.parts) == 2 and KEY.match(path.name) and path.name[:2] == relative.parts[0]
            found.add(path.name if is_key else str(relative))
        return found

    def stored_keys(self) -> set[str]:
        return {name for name in self.objects() if KEY.match(name)}

    def incomplete(self) -> list[str]:
        """What unfinished writes left: ``.part`` files, or pending multipart uploads."""
        if self.kind == "s3":
            answer = self.client.list_multipart_uploads(Bucket=self.bucket)
            return sorted(u["Key"] for u in answer.get("Uploads", ()))
        incoming = self.root / "incoming"
        return sorted(p.name for p in incoming.iterdir()) if incoming.is_dir() else []

    def raw(self, key: str) -> bytes:
        if self.kind == "s3":
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()
        return (self.root / key[:2] / key).read_bytes()

    def tamper(self, key: str, data: bytes) -> None:
        """Replace the bytes under ``key`` behind Realnet's back."""
        if self.kind == "s3":
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        else:
            (self.root / key[:2] / key).write_bytes(data)

    def write_orphan(self, data: bytes) -> str:
        """Content that no item names, written through the store's own interface."""
        store = open_content(self.settings)
        try:
            return store.write(iter([data])).key
        finally:
            store.close()

    def start_incomplete(self) -> None:
        """What an upload that died half way leaves behind."""
        key = new_key()
        if self.kind == "s3":
            self.client.create_multipart_upload(Bucket=self.bucket, Key=self.prefix + key)
        else:
            (self.root / "incoming").mkdir(parents=True, exist_ok=True)
            (self.root / "incoming" / f"{key}.part").write_bytes(b"half")

    def put_foreign(self) -> str:
        """An object that is not Realnet content (another application's, in the same place)."""
        if self.kind == "s3":
            self.client.put_object(Bucket=self.bucket, Key="other-app/readme.txt", Body=b"not ours")
            return "other-app/readme.txt"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "README").write_bytes(b"not ours")
        return "README"


@pytest.fixture(params=["local", "s3"])
def store(request) -> StoreView:
    """The content store of this test: the local folder, or a fresh S3 bucket."""
    settings = request.getfixturevalue("s3_settings") if request.param == "s3" else load_settings()
    return StoreView(request.param, settings)


@pytest.fixture
def ctx(store: StoreView) -> Iterator:
    context = open_context(store.settings)
    yield context
    context.provider.close()


# -- helpers ---------------------------------------------------------------------------


def realnet(*args: str, input: bytes | None = None, stdin=None) -> subprocess.CompletedProcess[bytes]:
    """``python -m realnet ARGS`` as its own process (the environment is this test's), in bytes."""
    return subprocess.run([sys.executable, "-m", "realnet", *args], input=input, stdin=stdin,
                          capture_output=True, timeout=TIMEOUT)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def item(cli, path: str) -> dict:
    result = cli("get", path, "-o", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def named_keys(cli) -> set[str]:
    """Every content key that some File item names."""
    result = cli("find", "/", "--type", "File", "--limit", "100000", "-o", "json")
    assert result.code == 0, result.err
    return {k for i in json.loads(result.out)["items"] if (k := i["attributes"].get("storage_key"))}


def content_of(path: str) -> bytes:
    """The bytes ``cat`` writes for ``path``, exactly."""
    done = realnet("cat", path)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout




def put_bytes(cli, tmp_path: Path, target: str, data: bytes, name: str = "upload.bin") -> dict:
    source = tmp_path / "uploads" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    result = cli("put", str(source), target)
    assert result.code == 0, result.err
    return item(cli, target)


def assert_no_orphans(cli, store: StoreView) -> None:
    assert store.stored_keys() == named_keys(cli), "the store holds exactly what items name"
    assert store.incomplete() == []


# -- put, get, fetch, cat --------------------------------------------------------------


ROUND_TRIPS = [
    ("empty.pdf", 0, "application/pdf"),
    ("notes.txt", 5000, "text/plain"),
    ("blob.bin", 3 * MiB + 17, "application/octet-stream"),
    ("movie.mp4", 9 * MiB + 1, "video/mp4"),  # more than one 8 MiB S3 part: a multipart upload
]


@pytest.mark.parametrize(("name", "size", "mime"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_put_get_fetch_cat_round_trip(cli, store, tmp_path, name, size, mime):
    data = (b"line of text\n" * size)[:size] if name.endswith(".txt") else os.urandom(size)
    source = tmp_path / "src" / name
    source.parent.mkdir()
    source.write_bytes(data)

    result = cli("put", str(source), f"/{name}")
    assert result.code == 0, result.err
    assert result.out == f"put /{name} ({size:,} bytes, sha256 {sha(data)[:12]}…)\n"
    got = item(cli, f"/{name}")
    assert got["type"] == "File" and got["version"] == 1
    attributes = got["attributes"]
    assert attributes["size"] == size
    assert attributes["sha256"] == sha(data)
    assert attributes["content_type"] == mime
    key = attributes["storage_key"]
    assert KEY.match(key), key  # a key of the store's own making, not the item's name
    assert store.stored_keys() == {key} and store.raw(key) == data
    assert store.incomplete() == []
    if store.kind == "s3":
        head = store.client.head_object(Bucket=store.bucket, Key=store.prefix + key)
        assert head["ContentType"] == mime and head["ContentLength"] == size

    # fetch to a named file: verified, identical, nothing temporary left beside it
    out = tmp_path / "out"
    out.mkdir()
    fetched = cli("fetch", f"/{name}", str(out / "copy"))
    assert fetched.code == 0, fetched.err
    assert fetched.out == f"fetched /{name} to {out / 'copy'} ({size:,} bytes, verified)\n"
    assert (out / "copy").read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == ["copy"]

    # it does not overwrite without -f, and does with it
    (out / "copy").write_bytes(b"mine")
    refused = cli("fetch", f"/{name}", str(out / "copy"))
    one_error(refused, 1, f"{out / 'copy'}: exists (use -f to overwrite)")
    assert (out / "copy").read_bytes() == b"mine"
    assert cli("fetch", f"/{name}", str(out / "copy"), "-f").code == 0
    assert (out / "copy").read_bytes() == data

    # into a folder, and with no destination at all: the item's name, here
    assert cli("fetch", f"/{name}", str(out)).code == 0
    assert (out / name).read_bytes() == data
    assert cli("fetch", f"/{name}").code == 0
    assert (tmp_path / name).read_bytes() == data

    # to stdout, binary-safe
    to_stdout = realnet("fetch", f"/{name}", "-")
    assert to_stdout.returncode == 0 and to_stdout.stderr == b""
    assert to_stdout.stdout == data
    assert content_of(f"/{name}") == data
    assert item(cli, f"/{name}") == got  # reading changed nothing


def test_fetch_json_output(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/f.bin", b"abc")
    result = cli("fetch", "/f.bin", str(tmp_path / "f"), "-o", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"path": "/f.bin", "file": str(tmp_path / "f"), "size": 3,
                                      "sha256": sha(b"abc")}


def test_fetch_never_replaces_what_is_not_a_regular_file(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/f.bin", b"abc")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for target in (pipe, tmp_path / "link-to-pipe"):
        if target.name.startswith("link"):
            target.symlink_to(pipe)
        refused = cli("fetch", "/f.bin", str(target), "-f")
        assert refused.code == 1
        assert refused.err == f"realnet: {target}: not a regular file; fetch writes files ('-' for standard output)\n"
    assert pipe.is_fifo() and (tmp_path / "link-to-pipe").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir() if "realnet-part" in p.name) == []


def test_put_json_output_lists_the_item(cli, store, tmp_path):
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello\n")
    result = cli("put", str(source), "/a.txt", "-o", "json")
    assert result.code == 0, result.err
    items = json.loads(result.out)["items"]
    assert [i["path"] for i in items] == ["/a.txt"]
    assert items[0]["attributes"]["sha256"] == sha(b"hello\n")


def test_put_from_stdin(cli, store):
    data = b"first\r\nsecond\x00\xff\xfe\x1b[31m\n" + os.urandom(2 * MiB + 3)
    done = realnet("put", "-", "/in/data.bin", "-p", input=data)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("put /in/data.bin (")
    got = item(cli, "/in/data.bin")
    assert got["type"] == "File"
    assert got["attributes"]["size"] == len(data) and got["attributes"]["sha256"] == sha(data)
    assert got["attributes"]["content_type"] == "application/octet-stream"
    assert content_of("/in/data.bin") == data
    assert item(cli, "/in")["type"] == "Folder"


def test_put_from_stdin_with_a_content_type_that_a_replace_keeps(cli, store):
    assert realnet("put", "-", "/table.dat", "--content-type", "text/csv", input=b"a,b\n1,2\n").returncode == 0
    assert item(cli, "/table.dat")["attributes"]["content_type"] == "text/csv"
    assert realnet("put", "-", "/table.dat", input=b"a,b\n3,4\n").returncode == 0
    again = item(cli, "/table.dat")
    assert again["version"] == 2 and again["attributes"]["content_type"] == "text/csv"
    assert content_of("/table.dat") == b"a,b\n3,4\n"


def test_put_from_stdin_without_a_target_is_a_usage_error(cli, store):
    done = realnet("put", "-", input=b"data")
    one_error(done, 2, "name the target item when reading stdin")
    assert store.stored_keys() == set()


def test_put_into_an_existing_folder_uses_the_file_name(cli, store, tmp_path):
    assert cli("create", "/docs", "--type", "Folder").code == 0
    for name in ("report.txt", "other.txt", "here.txt", "renamed-source.txt"):
        (tmp_path / name).write_bytes(name.encode())
    assert cli("put", str(tmp_path / "report.txt"), "/docs").out.startswith("put /docs/report.txt (")
    assert cli("put", str(tmp_path / "other.txt"), "/docs/").out.startswith("put /docs/other.txt (")
    assert cli("put", str(tmp_path / "here.txt")).out.startswith("put /here.txt (")  # the current folder
    assert cli("put", str(tmp_path / "renamed-source.txt"), "/docs/new-name").code == 0
    assert cli("ls", "/docs").out.split() == ["new-name", "other.txt", "report.txt"]
    assert content_of("/docs/report.txt") == b"report.txt"
    assert content_of("/docs/new-name") == b"renamed-source.txt"
    assert_no_orphans(cli, store)


def test_put_from_a_pipe_with_a_writer(cli, store, tmp_path):
    """A FIFO (what ``put <(command) /x`` gives) is read to its end: its size is unknown."""
    data = os.urandom(3 * MiB)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer() -> None:
        with fifo.open("wb") as out:
            out.write(data)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        done = realnet("put", str(fifo), "/from-pipe.bin")
    finally:
        if thread.is_alive():  # the put never opened it: let the writer go
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            thread.join(5)
            os.close(fd)
    assert done.returncode == 0, done.stderr.decode()
    assert item(cli, "/from-pipe.bin")["attributes"]["size"] == len(data)
    assert content_of("/from-pipe.bin") == data


# -- put -r ----------------------------------------------------------------------------


def make_tree(root: Path) -> dict[str, bytes]:
    """A local folder tree; returns relative path -> bytes of every regular file."""
    files = {
        "top.txt": b"top\n",
        "sub/a.bin": os.urandom(1500),
        "sub/deeper/b.md": b"# deep\n",
        "sub/deeper/empty.dat": b"",
        "other/c.json": b"{}\n",
    }
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    (root / "empty-folder").mkdir()
    return files


def test_put_recursive_mirrors_a_tree_and_skips_symlinks(cli, store, tmp_path):
    source = tmp_path / "src"
    files = make_tree(source)
    (source / "link-to-top").symlink_to(source / "top.txt")
    (source / "sub" / "dangling").symlink_to(tmp_path / "nowhere")

    result = cli("put", "-r", str(source), "/dst")
    assert result.code == 0, result.err
    assert sorted(line.split(" (")[0] for line in result.out.splitlines()) == sorted(
        f"put /dst/{r}" for r in files)
    assert "link-to-top" in result.err and "dangling" in result.err, result.err
    assert "not followed" in result.err

    assert item(cli, "/dst")["type"] == "Folder"
    found = json.loads(cli("find", "/dst", "-o", "json").out)["items"]
    shape = {i["path"]: i["type"] for i in found}
    expected = {"/dst/sub": "Folder", "/dst/sub/deeper": "Folder", "/dst/other": "Folder",
                "/dst/empty-folder": "Folder", **{f"/dst/{r}": "File" for r in files}}
    assert shape == expected
    for relative, data in files.items():
        got = item(cli, f"/dst/{relative}")
        assert got["attributes"]["size"] == len(data) and got["attributes"]["sha256"] == sha(data)
        assert content_of(f"/dst/{relative}") == data
    assert_no_orphans(cli, store)


def test_put_recursive_without_a_target_goes_to_the_current_folder(cli, store, tmp_path):
    source = tmp_path / "tree"
    files = make_tree(source)
    assert cli("put", "-r", str(source)).code == 0
    assert {f"/tree/{r}" for r in files} <= {i["path"] for i in json.loads(
        cli("find", "/tree", "-o", "json").out)["items"]}


def test_put_recursive_does_not_follow_a_directory_symlink(cli, store, tmp_path):
    source = tmp_path / "src"
    (source / "real").mkdir(parents=True)
    (source / "real" / "x.txt").write_bytes(b"x")
    (source / "linkdir").symlink_to(source / "real", target_is_directory=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"outside the tree")
    (source / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)

    result = cli("put", "-r", str(source), "/dst")
    assert result.code == 0, result.err
    assert cli("get", "/dst/real/x.txt").code == 0
    for link in ("linkdir", "escape"):
        assert link in result.err, f"the symlink {link} is reported on stderr: {result.err!r}"
        assert cli("get", f"/dst/{link}").code == 1, f"/dst/{link}: a symlink is not put"
    assert cli("get", "/dst/escape/secret.txt").code == 1


def test_put_recursive_again_replaces_every_file(cli, store, tmp_path):
    """Like cp: the first put -r into / creates /src, the second finds /src and puts into it
    (the source folder's name, inside the existing target), replacing every file."""
    source = tmp_path / "src"
    files = make_tree(source)
    assert cli("put", "-r", str(source), "/").code == 0
    first = {r: item(cli, f"/src/{r}")["attributes"]["storage_key"] for r in files}
    for relative in files:
        (source / relative).write_bytes(b"v2 " + relative.encode())
    again = cli("put", "-r", str(source), "/")
    assert again.code == 0, again.err
    for relative in files:
        got = item(cli, f"/src/{relative}")
        assert got["version"] == 2
        assert content_of(f"/src/{relative}") == b"v2 " + relative.encode()
    assert cli("get", "/src/src").code == 1
    assert not set(first.values()) & store.stored_keys()
    assert_no_orphans(cli, store)


def test_put_recursive_into_an_existing_folder_puts_the_tree_inside_it(cli, store, tmp_path):
    source = tmp_path / "src"
    files = make_tree(source)
    assert cli("create", "/dst", "--type", "Folder").code == 0
    assert cli("put", "-r", str(source), "/dst").code == 0
    for relative, data in files.items():
        assert content_of(f"/dst/src/{relative}") == data


# -- replace, rm, cp, mv ---------------------------------------------------------------


def test_replacing_content_serves_the_new_bytes_and_removes_the_old(cli, store, tmp_path):
    old, new = os.urandom(2 * MiB), os.urandom(MiB + 5)
    first = put_bytes(cli, tmp_path, "/f.bin", old, "one.bin")
    second = put_bytes(cli, tmp_path, "/f.bin", new, "two.bin")
    assert second["version"] == first["version"] + 1
    assert second["id"] == first["id"]
    assert second["attributes"]["size"] == len(new) and second["attributes"]["sha256"] == sha(new)
    assert second["attributes"]["storage_key"] != first["attributes"]["storage_key"]
    assert content_of("/f.bin") == new
    assert first["attributes"]["storage_key"] not in store.stored_keys(), "the old content is gone: no orphan"
    assert store.stored_keys() == {second["attributes"]["storage_key"]}
    assert_no_orphans(cli, store)


def test_rm_removes_the_bytes(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/keep.bin", b"keep")
    gone = put_bytes(cli, tmp_path, "/f.bin", os.urandom(1000))
    assert cli("rm", "/f.bin").code == 0
    assert gone["attributes"]["storage_key"] not in store.stored_keys()
    assert_no_orphans(cli, store)
    assert content_of("/keep.bin") == b"keep"


def test_rm_r_removes_the_bytes_of_every_file_below(cli, store, tmp_path):
    outside = put_bytes(cli, tmp_path, "/outside.bin", b"stays")
    assert cli("create", "/tree/a/b", "--type", "Folder", "-p").code == 0
    for path in ("/tree/one", "/tree/a/two", "/tree/a/b/three", "/tree/a/b/four"):
        put_bytes(cli, tmp_path, path, path.encode())
    assert len(store.stored_keys()) == 5
    assert cli("rm", "-r", "-f", "/tree").out == "removed 7 item(s)\n"
    assert store.stored_keys() == {outside["attributes"]["storage_key"]}
    assert_no_orphans(cli, store)


def test_an_rm_that_fails_part_way_keeps_the_bytes_of_what_it_had_removed(cli, store, tmp_path):
    """rm A B is one transaction: when B is refused, A comes back — and so must its bytes,
    which are removed only once the removal has committed."""
    data = os.urandom(3000)
    kept = put_bytes(cli, tmp_path, "/f.bin", data)
    refused = cli("rm", "/f.bin", "/system")
    assert refused.code == 1 and refused.err == "realnet: /system: a built-in folder cannot be deleted\n"
    assert kept["attributes"]["storage_key"] in store.stored_keys()
    assert content_of("/f.bin") == data
    assert cli("rm", "/f.bin").code == 0
    assert store.stored_keys() == set()


def test_cp_of_a_file_serves_the_same_bytes_and_outlives_the_original(cli, store, tmp_path):
    data = os.urandom(MiB + 1)
    put_bytes(cli, tmp_path, "/a.bin", data)
    assert cli("cp", "/a.bin", "/b.bin").code == 0
    assert content_of("/b.bin") == data
    copy = item(cli, "/b.bin")
    assert copy["attributes"]["sha256"] == sha(data) and copy["type"] == "File"
    assert cli("rm", "/a.bin").code == 0
    assert content_of("/b.bin") == data, "the copy keeps its bytes when the original goes"
    assert cli("fetch", "/b.bin", str(tmp_path / "b")).code == 0
    assert_no_orphans(cli, store)
    assert cli("rm", "/b.bin").code == 0
    assert store.stored_keys() == set(), "with both gone, so are the bytes"


def test_cp_of_a_folder_serves_the_same_bytes_and_outlives_the_original(cli, store, tmp_path):
    assert cli("create", "/src/inner", "--type", "Folder", "-p").code == 0
    files = {"/src/x.bin": os.urandom(3000), "/src/inner/y.txt": b"why\n"}
    for path, data in files.items():
        put_bytes(cli, tmp_path, path, data)
    assert cli("cp", "/src", "/copy").code == 0
    for path, data in files.items():
        assert content_of(path.replace("/src", "/copy", 1)) == data
    assert cli("rm", "-r", "-f", "/src").code == 0
    for path, data in files.items():
        assert content_of(path.replace("/src", "/copy", 1)) == data
    assert_no_orphans(cli, store)
    assert cli("rm", "-r", "-f", "/copy").code == 0
    assert store.stored_keys() == set()


def test_replacing_a_copy_keeps_the_original(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/a.bin", b"original")
    assert cli("cp", "/a.bin", "/b.bin").code == 0
    put_bytes(cli, tmp_path, "/b.bin", b"changed copy", "other.bin")
    assert content_of("/a.bin") == b"original"
    assert content_of("/b.bin") == b"changed copy"
    put_bytes(cli, tmp_path, "/a.bin", b"changed original", "third.bin")
    assert content_of("/b.bin") == b"changed copy"
    assert len(store.stored_keys()) == 2
    assert_no_orphans(cli, store)


def test_mv_keeps_the_bytes(cli, store, tmp_path):
    before = put_bytes(cli, tmp_path, "/a.bin", b"moving")
    assert cli("mv", "-p", "/a.bin", "/elsewhere/b.bin").code == 0
    assert content_of("/elsewhere/b.bin") == b"moving"
    assert item(cli, "/elsewhere/b.bin")["attributes"]["storage_key"] == before["attributes"]["storage_key"]
    assert_no_orphans(cli, store)


# -- interrupted writes, readers during a replace --------------------------------------


def failing_chunks(total: int, error: BaseException) -> Iterator[bytes]:
    """``total`` bytes (more than one S3 part), then ``error``: an upload that dies."""
    sent = 0
    while sent < total:
        yield os.urandom(MiB)
        sent += MiB
    raise error


ERRORS = [RuntimeError("the source went away"), KeyboardInterrupt()]


@pytest.mark.parametrize("error", ERRORS, ids=["error", "ctrl-c"])
def test_an_interrupted_upload_leaves_nothing(cli, store, ctx, tmp_path, error):
    put_bytes(cli, tmp_path, "/other.bin", b"other")
    before_keys, before_tree = store.stored_keys(), cli("export", "/").out
    with pytest.raises(type(error)):
        ctx.put_content("/new.bin", failing_chunks(9 * MiB, error))
    one_error(cli("get", "/new.bin"), 1, "/new.bin: no such item")
    assert cli("export", "/").out == before_tree
    assert store.stored_keys() == before_keys
    assert store.incomplete() == [], "no .part file, no pending multipart upload"


@pytest.mark.parametrize("error", ERRORS, ids=["error", "ctrl-c"])
def test_an_interrupted_replace_keeps_the_old_content(cli, store, ctx, tmp_path, error):
    old = os.urandom(2 * MiB)
    before = put_bytes(cli, tmp_path, "/f.bin", old)
    before_keys = store.stored_keys()
    with pytest.raises(type(error)):
        ctx.put_content("/f.bin", failing_chunks(9 * MiB, error))
    assert item(cli, "/f.bin") == before
    assert content_of("/f.bin") == old
    assert store.stored_keys() == before_keys
    assert store.incomplete() == []


def test_a_killed_put_leaves_only_what_gc_sweeps(cli, store, tmp_path):
    """A process killed mid-upload leaves a .part file or a pending multipart upload, no
    item and no complete key; gc with no grace removes the remnant, the default keeps it."""
    process = subprocess.Popen([sys.executable, "-m", "realnet", "put", "-", "/killed.bin"],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert process.stdin is not None
        process.stdin.write(os.urandom(10 * MiB))  # more than one part: the upload has begun
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while not store.incomplete():
            assert process.poll() is None, "the put ended while its input was still open"
            assert time.monotonic() < deadline, "the upload never showed up as incomplete"
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait(30)
        if process.stdin:
            process.stdin.close()
    assert cli("get", "/killed.bin").code == 1
    assert store.stored_keys() == set()
    assert len(store.incomplete()) == 1
    kept = json.loads(cli("storage", "gc", "-o", "json").out)
    if store.kind == "local" or not MOTO_FIXED_INITIATED:
        assert kept["incomplete_removed"] == 0 and len(store.incomplete()) == 1
    else:
        store.start_incomplete()  # moto: the fresh upload looked old and went; make another
    swept = cli("storage", "gc", "--grace", "0", "-o", "json")
    assert swept.code == 0, swept.err
    assert json.loads(swept.out)["incomplete_removed"] == 1
    assert store.incomplete() == []


def test_old_bytes_stay_readable_during_a_replace(store, tmp_path):
    """Half way through a replace, other processes still read the old bytes, and the
    item still says version 1 with the old digest. Everything but the writing context
    runs in child processes: see the next test for why."""
    old, new = os.urandom(3 * MiB), os.urandom(10 * MiB)
    (tmp_path / "old.bin").write_bytes(old)
    assert realnet("put", str(tmp_path / "old.bin"), "/f.bin").returncode == 0
    seen: dict[str, object] = {}

    def chunks() -> Iterator[bytes]:
        half = len(new) // 2
        for start in range(0, half, MiB):
            yield new[start:min(start + MiB, half)]
        seen["cat"] = realnet("cat", "/f.bin").stdout
        seen["fetch"] = realnet("fetch", "/f.bin", "-").stdout
        shown = json.loads(realnet("get", "/f.bin", "-o", "json").stdout)
        seen["get"] = (shown["version"], shown["attributes"]["sha256"])
        for start in range(half, len(new), MiB):
            yield new[start:min(start + MiB, len(new))]

    context = open_context(store.settings)
    try:
        done = context.put_content("/f.bin", chunks())
    finally:
        context.provider.close()
    assert done.version == 2
    assert seen == {"cat": old, "fetch": old, "get": (1, sha(old))}
    assert content_of("/f.bin") == new
    shown = json.loads(realnet("get", "/f.bin", "-o", "json").stdout)
    assert (shown["version"], shown["attributes"]["sha256"]) == (2, sha(new))
    assert len(store.stored_keys()) == 1 and store.incomplete() == []


def test_old_bytes_stay_readable_to_a_second_context_in_the_same_process(cli, store, tmp_path):
    """The same, read through a second Context of this process and the in-process CLI;
    then, while the writing context is still open (a shell serving the HTTP runner keeps
    it open), another process reads the new content."""
    old, new = os.urandom(3 * MiB), os.urandom(10 * MiB)
    put_bytes(cli, tmp_path, "/f.bin", old)
    seen: dict[str, object] = {}
    context = open_context(store.settings)

    def chunks() -> Iterator[bytes]:
        half = len(new) // 2
        for start in range(0, half, MiB):
            yield new[start:min(start + MiB, half)]
        other = open_context(store.settings)
        try:
            found, body = other.read_content("/f.bin")
            seen["context"] = (found.version, b"".join(body))
        finally:
            other.provider.close()
        seen["get"] = item(cli, "/f.bin")["attributes"]["sha256"]
        seen["cat"] = realnet("cat", "/f.bin").stdout
        for start in range(half, len(new), MiB):
            yield new[start:min(start + MiB, len(new))]

    try:
        done = context.put_content("/f.bin", chunks())
        after = realnet("cat", "/f.bin")
    finally:
        context.provider.close()
    assert done.version == 2
    assert seen == {"context": (1, old), "get": sha(old), "cat": old}
    assert after.returncode == 0 and after.stdout == new, after.stderr
    assert content_of("/f.bin") == new
    assert_no_orphans(cli, store)


def test_a_second_sqlite_store_in_the_process_loses_no_writes(realnet_home):
    """Not about content, found by the test above. SqliteProvider._check_file reads the
    database header with open()/close(); closing any descriptor of a file drops every POSIX
    lock this process holds on it, so an open store of the same process loses its WAL locks.
    The next process to close thinks it is the last user, checkpoints and deletes the WAL;
    from then on the first store writes to a WAL no one else reads (its writes are invisible
    to other processes) and, when it closes, checkpoints that stale WAL over the database,
    wiping what other processes committed meanwhile. Two stores in one process happen in the
    shell serving the HTTP runner (the gateway opens its own provider) and in any code that
    calls open_context twice."""
    settings = load_settings()
    first = open_context(settings)
    seen = {}
    try:
        first.create("/a", "Folder")
        open_context(settings).provider.close()  # a second store opened (and closed) here
        assert realnet("ls", "/").returncode == 0  # another process comes and goes
        first.create("/b", "Folder")  # reports success
        seen["other process sees /b"] = b"b" in realnet("ls", "/").stdout.split()
        created = realnet("create", "/c", "--type", "Folder")
        assert created.returncode == 0, created.stderr
        first.create("/d", "Folder")
    finally:
        first.provider.close()
    seen["after close"] = realnet("ls", "/").stdout.decode().split()
    assert seen == {"other process sees /b": True,
                    "after close": ["a", "apps", "b", "c", "clusters", "d", "home", "system", "types"]}


# -- verification on fetch -------------------------------------------------------------


@pytest.mark.parametrize("damage", ["same-size", "truncated"])
def test_fetch_refuses_content_that_does_not_match(cli, store, tmp_path, damage):
    data = os.urandom(100_000)
    key = put_bytes(cli, tmp_path, "/f.bin", data)["attributes"]["storage_key"]
    store.tamper(key, os.urandom(len(data)) if damage == "same-size" else data[:-1])
    target = tmp_path / "got"
    target.write_bytes(b"mine")
    result = cli("fetch", "/f.bin", str(target), "-f")
    one_error(result, 1, "/f.bin: ")
    assert ("sha256" in result.err) if damage == "same-size" else ("expected 100000" in result.err)
    assert target.read_bytes() == b"mine", "nothing was written over the local file"
    assert sorted(p.name for p in tmp_path.iterdir() if "realnet-part" in p.name) == []


@pytest.mark.parametrize("damage", ["same-size", "truncated"])
def test_fetch_to_stdout_reports_content_that_does_not_match(cli, store, tmp_path, damage):
    """Bytes already written to stdout cannot be taken back, but the command must not
    claim success: a pipeline (``realnet fetch /f - | tar x``) has to learn of it."""
    data = os.urandom(100_000)
    key = put_bytes(cli, tmp_path, "/f.bin", data)["attributes"]["storage_key"]
    store.tamper(key, os.urandom(len(data)) if damage == "same-size" else data[:-1])
    done = realnet("fetch", "/f.bin", "-")
    assert done.returncode == 1, f"exit {done.returncode}, stderr {done.stderr!r}"
    assert b"/f.bin" in done.stderr and b"Traceback" not in done.stderr


# -- storage gc ------------------------------------------------------------------------


def test_gc_removes_orphans_and_keeps_what_items_name(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/a.bin", b"a")
    put_bytes(cli, tmp_path, "/b.bin", os.urandom(10_000))
    assert cli("cp", "/a.bin", "/a-copy.bin").code == 0
    named = named_keys(cli)
    orphan = store.write_orphan(b"nobody names me")
    foreign = store.put_foreign()
    assert store.stored_keys() == named | {orphan}

    young = cli("storage", "gc")  # the default grace: a fresh orphan may be a put in progress
    assert young.code == 0, young.err
    assert young.out.startswith("checked ") and "removed 0 unused" in young.out
    assert orphan in store.stored_keys()

    time.sleep(1.1)  # S3 times objects to the second
    swept = cli("storage", "gc", "--grace", "0", "-o", "json")
    assert swept.code == 0, swept.err
    report = json.loads(swept.out)
    assert report["removed"] == 1 and report["checked"] == len(named) + 1, report
    assert store.stored_keys() == named
    assert foreign in store.objects(), "what is not Realnet content is left alone"
    assert content_of("/a.bin") == b"a" and content_of("/a-copy.bin") == b"a"
    assert_no_orphans(cli, store)


def test_gc_removes_stale_incomplete_writes(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/a.bin", b"a")
    store.start_incomplete()
    kept = json.loads(cli("storage", "gc", "-o", "json").out)
    if store.kind == "local" or not MOTO_FIXED_INITIATED:
        assert kept["incomplete_removed"] == 0 and len(store.incomplete()) == 1
    else:
        store.start_incomplete()  # moto: the fresh upload looked old and went; make another
    time.sleep(1.1)
    swept = json.loads(cli("storage", "gc", "--grace", "0", "-o", "json").out)
    assert swept["incomplete_removed"] == 1 and swept["removed"] == 0
    assert store.incomplete() == []
    assert content_of("/a.bin") == b"a"


def test_gc_is_for_administrators_only(cli, store, tmp_path):
    assert cli("user", "add", "alice").code == 0
    put_bytes(cli, tmp_path, "/a.bin", b"a")
    orphan = store.write_orphan(b"orphan")
    store.start_incomplete()
    time.sleep(1.1)
    result = cli("--as", "alice", "storage", "gc", "--grace", "0")
    one_error(result, 1, "storage gc: only members of 'admins' may do this")
    assert orphan in store.stored_keys() and len(store.incomplete()) == 1


# -- bad input -------------------------------------------------------------------------


@pytest.fixture
def world(cli, store, tmp_path):
    """/projects with a Document, a File with content and a File without; local files
    beside; returns a fingerprint of everything a refused command must leave alone."""
    assert cli("create", "/projects", "--type", "Folder").code == 0
    assert cli("create", "/projects/notes", "--type", "Document", "-a", "title=Plan").code == 0
    assert cli("create", "/projects/empty", "--type", "File").code == 0
    (tmp_path / "a.txt").write_bytes(b"hello\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "inside.txt").write_bytes(b"inside\n")
    assert cli("put", "a.txt", "/projects/file.txt").code == 0

    def fingerprint() -> tuple:
        exported = cli("export", "/")
        assert exported.code == 0, exported.err
        local = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                       if "home" not in p.relative_to(tmp_path).parts)
        return exported.out, store.objects(), store.incomplete(), local

    return fingerprint


OTHER_KEY = "0123456789abcdef0123456789abcdef"
BAD = [
    # (arguments, exit code, expected message fragment)
    (["put", "missing.txt", "/projects/m.txt"], 1, "missing.txt: no such local file"),
    (["put", "adir", "/projects/adir"], 1, "adir: is a directory (use -r to put a folder tree)"),
    (["put", "a.txt/inside", "/projects/x"], 1, "a.txt/inside: cannot read (Not a directory)"),
    (["put", "a.txt", "/nowhere/a.txt"], 1, "/nowhere: parent folder does not exist (use -p"),
    (["put", "a.txt", "/projects/notes"], 1, "/projects/notes: a Document holds no file content"),
    (["put", "a.txt", "/projects/notes/x.txt"], 1, "a Document cannot hold a File"),
    (["put", "a.txt", "/projects/bad\tname"], 1, "control characters"),
    (["put", "-r", "adir", "/projects/notes"], 1, "/projects/notes"),
    (["set", "/projects/file.txt", f"storage_key={OTHER_KEY}"], 1,
     "/projects/file.txt: attribute 'storage_key' is set by 'put' with the content, not by hand"),
    (["set", "/projects/file.txt", "sha256=00"], 1, "attribute 'sha256' is set by 'put'"),
    (["set", "/projects/file.txt", "--unset", "storage_key"], 1, "attribute 'storage_key' is set by 'put'"),
    (["set", "/projects/empty", f"storage_key={OTHER_KEY}"], 1, "attribute 'storage_key' is set by 'put'"),
    (["create", "/projects/x", "--type", "File", "-a", f"storage_key={OTHER_KEY}"], 1,
     "/projects/x: attribute 'storage_key' is set by 'put' with the content, not by hand"),
    (["create", "/projects/x", "--type", "File", "-a", "sha256=00"], 1, "attribute 'sha256' is set by 'put'"),
    (["fetch", "/projects/notes", "out"], 1, "/projects/notes: a Document without content"),
    (["fetch", "/projects/empty", "out"], 1, "/projects/empty: a File without content (put some with 'put')"),
    (["fetch", "/projects/nothing", "out"], 1, "/projects/nothing: no such item"),
    (["fetch", "/projects", "out"], 1, "/projects: a Folder without content"),
    (["fetch", "/projects/file.txt", "nodir/x"], 1, "nodir/x: cannot write (No such file or directory)"),
    (["fetch", "/projects/file.txt", "a.txt"], 1, "a.txt: exists (use -f to overwrite)"),
    (["cat", "/projects/empty"], 1, "/projects/empty: "),
    (["cat", "/projects/nothing"], 1, "/projects/nothing: no such item"),
    (["storage", "gc", "--grace", "-1"], 2, "--grace"),
    (["put"], 2, "Missing argument 'SOURCE'"),
    (["fetch"], 2, "Missing argument 'PATH'"),
    (["put", "a.txt", "/projects/y", "--bogus"], 2, "No such option '--bogus'"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD, ids=[" ".join(c[0])[:48] for c in BAD])
def test_bad_input_is_refused_cleanly(cli, world, args, code, message):
    before = world()
    result = cli(*args)
    one_error(result, code, message)
    assert world() == before


def test_put_dash_without_target_changes_nothing(cli, world):
    before = world()
    one_error(realnet("put", "-", input=b"data"), 2, "name the target item when reading stdin")
    assert world() == before


def test_put_with_p_creates_the_missing_parents(cli, world, store, tmp_path):
    result = cli("put", "-p", "a.txt", "/nowhere/deeper/a.txt")
    assert result.code == 0, result.err
    assert item(cli, "/nowhere/deeper")["type"] == "Folder"
    assert content_of("/nowhere/deeper/a.txt") == b"hello\n"
    assert_no_orphans(cli, store)


def test_a_read_error_half_way_is_one_line_and_leaves_nothing(cli, world, store):
    """Reading /proc/self/mem opens fine and fails on the first read (EIO): a local file
    that breaks while it is being read."""
    before = world()
    done = realnet("put", "/proc/self/mem", "/projects/mem")
    one_error(done, 1, "/proc/self/mem: cannot read")
    assert world() == before


def test_an_unreadable_local_file(cli, world, tmp_path):
    """A file its reader may not read. As root, permissions do not stop reads, so the
    child drops the capabilities that bypass them (setpriv, util-linux)."""
    locked = tmp_path / "locked.txt"
    locked.write_bytes(b"secret")
    locked.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: no way to make a file unreadable")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    before = world()
    done = subprocess.run([*prefix, sys.executable, "-m", "realnet", "put", str(locked), "/projects/l.txt"],
                          capture_output=True, timeout=TIMEOUT)
    one_error(done, 1, "locked.txt: permission denied")
    assert world() == before


def test_a_refused_replace_leaves_no_new_bytes(cli, world, store):
    """put onto a Document is refused before any byte is stored."""
    keys = store.stored_keys()
    big = Path("big.bin")
    big.write_bytes(os.urandom(2 * MiB))
    one_error(cli("put", str(big), "/projects/notes"), 1, "a Document holds no file content")
    assert store.stored_keys() == keys and store.incomplete() == []
    big.unlink()


# -- permissions -----------------------------------------------------------------------


@pytest.fixture
def shared(cli, store, tmp_path) -> bytes:
    """/shared/f.bin with content; alice may read /shared, bob may not."""
    script = "; ".join([
        "user add alice", "user add bob",
        "create /shared --type Folder", "acl grant /shared user:alice read",
    ])
    assert cli("shell", "-c", script).code == 0
    data = os.urandom(MiB + 7)
    put_bytes(cli, tmp_path, "/shared/f.bin", data)
    (tmp_path / "new.bin").write_bytes(b"new content")
    return data


def test_a_reader_may_fetch_and_cat_but_not_put(cli, store, shared, tmp_path):
    assert realnet("--as", "alice", "cat", "/shared/f.bin").stdout == shared
    assert realnet("--as", "alice", "fetch", "/shared/f.bin", "-").stdout == shared
    assert cli("--as", "alice", "fetch", "/shared/f.bin", str(tmp_path / "got")).code == 0
    assert (tmp_path / "got").read_bytes() == shared

    before, keys = item(cli, "/shared/f.bin"), store.objects()
    one_error(cli("--as", "alice", "put", "new.bin", "/shared/f.bin"), 1,
              "/shared/f.bin: alice may not write here")
    one_error(realnet("--as", "alice", "put", "-", "/shared/f.bin", input=b"x"), 1,
              "/shared/f.bin: alice may not write here")
    one_error(cli("--as", "alice", "put", "new.bin", "/shared/other.bin"), 1,
              "/shared: alice may not create here")
    assert item(cli, "/shared/f.bin") == before
    assert store.objects() == keys and store.incomplete() == []
    assert content_of("/shared/f.bin") == shared


def test_a_user_who_cannot_read_sees_no_such_item(cli, store, shared, tmp_path):
    before, keys = item(cli, "/shared/f.bin"), store.objects()
    for args in (["fetch", "/shared/f.bin", str(tmp_path / "got")], ["cat", "/shared/f.bin"],
                 ["put", "new.bin", "/shared/f.bin"], ["get", "/shared/f.bin"], ["rm", "/shared/f.bin"]):
        one_error(cli("--as", "bob", *args), 1, "/shared/f.bin: no such item")
    done = realnet("--as", "bob", "fetch", "/shared/f.bin", "-")
    one_error(done, 1, "/shared/f.bin: no such item")
    assert done.stdout == b""
    one_error(cli("--as", "bob", "put", "new.bin", "/shared/other.bin"), 1, "/shared")
    assert not (tmp_path / "got").exists()
    assert item(cli, "/shared/f.bin") == before
    assert store.objects() == keys and store.incomplete() == []


def test_import_cannot_name_content_the_importer_may_not_read(cli, store, tmp_path):
    """storage_key is refused in create and set, so that no one names another item's bytes;
    an import file is the same door. alice may not read /secret/s.txt (she might have
    noted its key while she could, or from a log): importing a File that names that key
    must not give her the bytes."""
    assert cli("user", "add", "alice").code == 0
    assert cli("create", "/secret", "--type", "Folder").code == 0
    secret = b"TOP SECRET\n"
    key = put_bytes(cli, tmp_path, "/secret/s.txt", secret)["attributes"]["storage_key"]
    one_error(cli("--as", "alice", "cat", "/secret/s.txt"), 1, "no such item")
    crafted = tmp_path / "crafted.json"
    crafted.write_text(json.dumps({"format": "realnet-export", "version": 1, "items": [
        {"path": ".", "type": "Folder", "attributes": {}},
        {"path": "loot", "type": "File", "attributes": {"storage_key": key}},
    ]}))
    imported = cli("--as", "alice", "import", str(crafted), "/home/alice/stuff")
    cat = realnet("--as", "alice", "cat", "/home/alice/stuff/loot")
    fetched = realnet("--as", "alice", "fetch", "/home/alice/stuff/loot", "-")
    assert secret not in cat.stdout and secret not in fetched.stdout, (
        f"import exit {imported.code} {imported.out.strip()!r}: alice reads the secret through "
        f"her imported item (cat: {cat.stdout!r}, fetch -: {fetched.stdout!r})")


def test_concurrent_puts_to_one_path_leave_one_winner_and_no_orphans(cli, store, tmp_path):
    sources = []
    for n in range(4):
        source = tmp_path / f"v{n}.bin"
        source.write_bytes(bytes([n]) * (MiB + n))
        sources.append(source)
    put_bytes(cli, tmp_path, "/f.bin", b"first")
    processes = [subprocess.Popen([sys.executable, "-m", "realnet", "put", str(source), "/f.bin"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for source in sources]
    results = [(p.wait(TIMEOUT), p.stdout.read().decode(), p.stderr.read().decode()) for p in processes]
    for process in processes:
        process.stdout.close()
        process.stderr.close()
    for code, _out, err in results:
        assert code == 0 or (code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err), err
    winners = sum(code == 0 for code, _, _ in results)
    assert winners >= 1
    final = item(cli, "/f.bin")
    assert final["version"] == 1 + winners
    data = content_of("/f.bin")
    assert data in [source.read_bytes() for source in sources]
    assert final["attributes"]["sha256"] == sha(data)
    assert_no_orphans(cli, store)


def test_content_missing_from_the_store_is_one_line(cli, store, tmp_path):
    key = put_bytes(cli, tmp_path, "/f.bin", b"here today")["attributes"]["storage_key"]
    if store.kind == "s3":
        store.client.delete_object(Bucket=store.bucket, Key=store.prefix + key)
    else:
        (store.root / key[:2] / key).unlink()
    one_error(cli("fetch", "/f.bin", str(tmp_path / "got")), 1, key)
    assert not (tmp_path / "got").exists()
    assert not [p for p in tmp_path.iterdir() if "realnet-part" in p.name]
    one_error(realnet("cat", "/f.bin"), 1, key)
    one_error(realnet("fetch", "/f.bin", "-"), 1, key)


RANGES = [(0, None), (0, 0), (0, 1), (5, 10), (MiB - 1, MiB + 1), (3 * MiB, None), (3 * MiB - 2, 4 * MiB),
          (10, 5), (4 * MiB, None)]


def test_reading_byte_ranges(cli, store, ctx, tmp_path):
    data = os.urandom(3 * MiB + 11)
    put_bytes(cli, tmp_path, "/f.bin", data)
    for start, end in RANGES:
        _, chunks = ctx.read_content("/f.bin", start, end)
        got = b"".join(chunks)
        assert got == data[start:end], (start, end, len(got))


# -- memory ----------------------------------------------------------------------------


MEASURE = """
import json, resource, subprocess, sys
with open(sys.argv[1], "rb") as stdin, open(sys.argv[2], "wb") as stdout:
    done = subprocess.run(sys.argv[3:], stdin=stdin, stdout=stdout)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": done.returncode, "max_rss_kib": usage.ru_maxrss}))
"""
LIMIT = 64 * MiB


def peak_rss(*args: str, stdin: str = os.devnull, stdout: str = os.devnull) -> int:
    """The peak RSS, in bytes, of ``realnet ARGS`` run alone under a fresh parent (so
    that RUSAGE_CHILDREN counts that one process and nothing this test ran before)."""
    done = subprocess.run([sys.executable, "-c", MEASURE, stdin, stdout, sys.executable, "-m", "realnet",
                           *args], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["code"] == 0, (args, done.stderr)
    return report["max_rss_kib"] * 1024


def write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(size // MiB):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def test_put_and_fetch_of_100_mib_keep_memory_flat(cli, store, tmp_path):
    big, tiny = tmp_path / "big.bin", tmp_path / "tiny.bin"
    digest = write_random(big, 100 * MiB)
    tiny.write_bytes(b"x")
    idle = peak_rss("ls", "/")
    # The baseline of each command is the same command on one byte: it has imported and
    # connected everything (boto3 for S3) that the big one has, so the difference is
    # what the size costs.
    base_put = peak_rss("put", str(tiny), "/tiny.bin")
    put = peak_rss("put", str(big), "/big.bin")
    base_stdin = peak_rss("put", "-", "/tiny-stdin.bin", stdin=str(tiny))
    put_stdin = peak_rss("put", "-", "/big-stdin.bin", stdin=str(big))
    got = item(cli, "/big.bin")["attributes"]
    assert got["size"] == 100 * MiB and got["sha256"] == digest
    assert item(cli, "/big-stdin.bin")["attributes"]["sha256"] == digest

    base_fetch = peak_rss("fetch", "/tiny.bin", str(tmp_path / "tiny.out"))
    fetch = peak_rss("fetch", "/big.bin", str(tmp_path / "big.out"))
    assert (tmp_path / "big.out").stat().st_size == 100 * MiB
    base_stdout = peak_rss("fetch", "/tiny.bin", "-")
    fetch_stdout = peak_rss("fetch", "/big.bin", "-")
    base_cat = peak_rss("cat", "/tiny.bin")
    cat = peak_rss("cat", "/big.bin")

    growth = {
        "put": put - base_put, "put -": put_stdin - base_stdin, "fetch": fetch - base_fetch,
        "fetch -": fetch_stdout - base_stdout, "cat": cat - base_cat,
    }
    over_idle = {"put": put - idle, "fetch": fetch - idle, "cat": cat - idle}
    shown = {k: f"{v / MiB:.1f} MiB" for k, v in {**growth, **{f"{k} vs ls /": v for k, v in
                                                                over_idle.items()}}.items()}
    print(f"peak RSS growth ({store.kind}):", shown)
    assert all(v < LIMIT for v in growth.values()), shown
