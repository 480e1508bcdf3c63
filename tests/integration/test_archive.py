"""Export and import of file content as tar archives (``export -f x.tar``, ``import x.tar``).

An archive holds ``realnet-export.json`` first (the usual export document, with each
file's size, sha256 and content type but no storage key), then one regular member
``content/<sha256>`` per distinct digest. Export reads content through the permission
layer and verifies it while streaming; import checks the document, writes and verifies
every content member, then inserts all items in one transaction: all or nothing, with
nothing left behind in the content store.

Archives are read and crafted here with ``tarfile``. The content store is inspected
behind Realnet's back (the content folder, or the bucket through boto3), so that a test
sees every key, every ``.part`` file and every pending multipart upload left behind.
Binary output (a tar on stdout) and binary input (a tar on stdin) go through
``python -m realnet`` child processes: the in-process ``cli`` fixture speaks text.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from realnet.config import Settings, load_settings
from realnet.storage.base import KEY

MiB = 1024 * 1024
TIMEOUT = 300  # seconds: a hang detector for child processes, not a performance bound
DOC = "realnet-export.json"
GZIP_MAGIC = b"\x1f\x8b"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


# -- the content store, seen from behind -----------------------------------------------


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
        """Every complete object there: content keys and anything else."""
        if self.kind == "s3":
            names: set[str] = set()
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                names |= {entry["Key"] for entry in page.get("Contents", ())}
            return {n[len(self.prefix):] if n.startswith(self.prefix) else n for n in names}
        if not self.root.is_dir():
            return set()
        return {str(p.relative_to(self.root)) for p in self.root.rglob("*")
                if not p.is_dir() and p.parent.name != "incoming"}

    def keys(self) -> set[str]:
        return {name.rpartition("/")[2] for name in self.objects() if KEY.fullmatch(name.rpartition("/")[2])}

    def incomplete(self) -> list[str]:
        """What unfinished writes left: ``.part`` files, or pending multipart uploads."""
        if self.kind == "s3":
            answer = self.client.list_multipart_uploads(Bucket=self.bucket)
            return sorted(u["Key"] for u in answer.get("Uploads", ()))
        incoming = self.root / "incoming"
        return sorted(p.name for p in incoming.iterdir()) if incoming.is_dir() else []

    def tamper(self, key: str, data: bytes | None) -> None:
        """Replace (or, with None, remove) the bytes under ``key`` behind Realnet's back."""
        if self.kind == "s3":
            if data is None:
                self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
            else:
                self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        elif data is None:
            (self.root / key[:2] / key).unlink()
        else:
            (self.root / key[:2] / key).write_bytes(data)


@pytest.fixture(params=["local", "s3"])
def store(request) -> StoreView:
    """The content store of this test: the local folder, or a fresh S3 bucket."""
    settings = request.getfixturevalue("s3_settings") if request.param == "s3" else load_settings()
    return StoreView(request.param, settings)


@pytest.fixture
def local(realnet_home) -> StoreView:
    return StoreView("local", load_settings())


@pytest.fixture
def s3(s3_settings) -> StoreView:
    return StoreView("s3", s3_settings)


# -- helpers ---------------------------------------------------------------------------


def realnet(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m realnet ARGS`` as its own process (the environment is this test's), in bytes."""
    return subprocess.run([sys.executable, "-m", "realnet", *args], input=input,
                          capture_output=True, timeout=TIMEOUT)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ok(cli, *args: str):
    result = cli(*args)
    assert result.code == 0, (args, result.err)
    return result


def item(cli, path: str) -> dict:
    return json.loads(ok(cli, "get", path, "-o", "json").out)


def one_error(result, code: int, *fragments: str) -> str:
    err = result.err if hasattr(result, "err") else result.stderr.decode()
    got = result.code if hasattr(result, "code") else result.returncode
    assert got == code, (got, err)
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def put_bytes(cli, tmp_path: Path, target: str, data: bytes, name: str = "upload.bin") -> dict:
    source = tmp_path / "uploads" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    ok(cli, "put", str(source), target)
    return item(cli, target)


def content_of(path: str, *as_user: str) -> bytes:
    """The bytes ``fetch PATH -`` writes, exactly (it verifies size and sha256)."""
    done = realnet(*as_user, "fetch", path, "-")
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def fetch_verified(cli, tmp_path: Path, path: str) -> bytes:
    """``fetch PATH OUT``: checks size and sha256 before it renames into place."""
    out = tmp_path / "fetched" / path.strip("/").replace("/", "__")
    out.parent.mkdir(exist_ok=True)
    ok(cli, "fetch", path, str(out), "-f")
    return out.read_bytes()


def named_keys(cli) -> set[str]:
    """Every content key that some File item names."""
    found = json.loads(ok(cli, "find", "/", "--type", "File", "--limit", "100000", "-o", "json").out)
    return {k for i in found["items"] if (k := i["attributes"].get("storage_key"))}


def gc(cli) -> dict:
    return json.loads(ok(cli, "storage", "gc", "--grace", "0", "-o", "json").out)


def assert_no_orphans(cli, store: StoreView) -> None:
    assert store.keys() == named_keys(cli), "the store holds exactly what items name"
    assert store.incomplete() == []


def without_keys(document: dict) -> list[dict]:
    """The items of an export document with every storage_key dropped."""
    items = json.loads(json.dumps(document["items"]))
    for entry in items:
        entry.get("attributes", {}).pop("storage_key", None)
    return items


# -- archives, read and crafted --------------------------------------------------------


@dataclass
class Archive:
    members: list[tarfile.TarInfo]
    blobs: dict[str, bytes]  # name -> bytes, for regular members

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    @property
    def document(self) -> dict:
        return json.loads(self.blobs[DOC])

    @property
    def content(self) -> dict[str, bytes]:
        return {n[len("content/"):]: b for n, b in self.blobs.items() if n.startswith("content/")}


def read_archive(data: bytes) -> Archive:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        members = tar.getmembers()
        blobs = {}
        for member in members:
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                blobs[member.name] = handle.read()
    return Archive(members, blobs)


Member = tuple[tarfile.TarInfo, "bytes | None"]


def regular(name: str, data: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 1_700_000_000
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = 1_700_000_000
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, None


def tar_bytes(*members: Member, compress: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compress else "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def document_member(document: dict) -> Member:
    return regular(DOC, json.dumps(document).encode())


# -- a source tree ---------------------------------------------------------------------


def make_source(cli, tmp_path: Path, root: str = "/src", *, big: int = 0) -> dict[str, bytes]:
    """A tree with documents, folders and files (one empty, two with the same bytes);
    returns relative path -> bytes of every file. ``big`` adds a file of that many bytes."""
    ok(cli, "create", f"{root}/sub/deeper", "--type", "Folder", "-p")
    ok(cli, "create", f"{root}/empty-folder", "--type", "Folder")
    ok(cli, "create", f"{root}/notes", "--type", "Document", "-a", "title=Plan", "-a", "body=first\nsteps")
    files = {
        "a.txt": b"alpha\n",
        "empty.dat": b"",
        "sub/b.bin": os.urandom(200_000),
        "sub/deeper/same.txt": b"alpha\n",  # the bytes of a.txt: one member for both
        "sub/deeper/c.pdf": os.urandom(3000),
    }
    if big:
        files["sub/big.bin"] = os.urandom(big)
    for relative, data in files.items():
        put_bytes(cli, tmp_path, f"{root}/{relative}", data, relative.rpartition("/")[2])
    return files


def export_archive(cli, tmp_path: Path, path: str = "/src", name: str = "out.tar") -> tuple[Path, Archive]:
    target = tmp_path / name
    result = ok(cli, "export", path, "-f", str(target))
    assert result.out == "", "the archive goes to the file, nothing to stdout"
    return target, read_archive(target.read_bytes())


# -- export: the layout ----------------------------------------------------------------


def test_export_writes_the_document_first_then_each_content_once(cli, local, tmp_path):
    files = make_source(cli, tmp_path)
    _, archive = export_archive(cli, tmp_path)

    assert archive.names[0] == DOC, archive.names
    assert archive.members[0].isfile()
    document = archive.document
    assert document["format"] == "realnet-export" and document["version"] == 1
    assert document["root"] == "/src"
    # The same document as the JSON export, but no storage_key on any file entry.
    as_json = json.loads(ok(cli, "export", "/src").out)
    assert document["items"] == without_keys(as_json)
    for entry in document["items"]:
        assert "storage_key" not in entry["attributes"], entry
    by_path = {e["path"]: e for e in document["items"]}
    for relative, data in files.items():
        attributes = by_path[relative]["attributes"]
        assert by_path[relative]["type"] == "File"
        assert attributes["size"] == len(data) and attributes["sha256"] == sha(data)
        assert attributes["content_type"] == item(cli, f"/src/{relative}")["attributes"]["content_type"]
    assert by_path["notes"]["attributes"]["body"] == "first\nsteps"

    # One regular member per distinct digest, exactly the bytes, and nothing else.
    digests = {sha(data) for data in files.values()}
    assert len(digests) == len(files) - 1  # a.txt and same.txt share theirs
    content_members = archive.names[1:]
    assert sorted(content_members) == sorted(f"content/{d}" for d in digests), archive.names
    assert len(content_members) == len(set(content_members)), "each digest once"
    for member in archive.members[1:]:
        assert member.isfile(), member.name
    for data in files.values():
        assert archive.content[sha(data)] == data
        member = next(m for m in archive.members if m.name == f"content/{sha(data)}")
        assert member.size == len(data)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["out.tar"], \
        "nothing temporary left beside the archive"


@pytest.mark.parametrize(("name", "args", "compressed"), [
    ("out.tar", (), False),
    ("out.tar.gz", (), True),
    ("out.tgz", (), True),
    ("out.bin", ("--format", "tar"), False),
    ("out.json", ("--format", "tar"), False),
], ids=["tar", "tar.gz", "tgz", "format-tar-other-name", "format-tar-json-name"])
def test_export_archive_kind_follows_the_name_or_format(cli, local, tmp_path, name, args, compressed):
    files = make_source(cli, tmp_path)
    target = tmp_path / name
    result = ok(cli, "export", "/src", "-f", str(target), *args)
    assert result.out == ""
    data = target.read_bytes()
    assert data.startswith(GZIP_MAGIC) == compressed, data[:4]
    if compressed:
        plain = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
            assert tar.getnames()[0] == DOC
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:  # no compression at all
            assert tar.getnames()[0] == DOC
    archive = read_archive(data)
    assert set(archive.content) == {sha(d) for d in files.values()}


@pytest.mark.parametrize("args", [("--format", "tar"), ("--format", "tar", "-f", "-")],
                         ids=["no-file", "dash"])
def test_export_format_tar_writes_the_archive_to_stdout(cli, local, tmp_path, args):
    files = make_source(cli, tmp_path)
    done = realnet("export", "/src", *args)
    assert done.returncode == 0, done.stderr.decode()
    assert not done.stdout.startswith(GZIP_MAGIC), "an uncompressed tar"
    archive = read_archive(done.stdout)
    assert archive.names[0] == DOC
    assert archive.content == {sha(d): d for d in files.values()}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(("-", ".-"))] == []


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_json_and_yaml_exports_stay_metadata_only(cli, local, tmp_path, suffix):
    make_source(cli, tmp_path)
    target = tmp_path / f"out.{suffix}"
    ok(cli, "export", "/src", "-f", str(target))
    text = target.read_text(encoding="utf-8")
    document = json.loads(text) if suffix == "json" else yaml.safe_load(text)
    assert document["format"] == "realnet-export"
    keys = [e["attributes"].get("storage_key") for e in document["items"] if e["type"] == "File"]
    assert keys and all(KEY.fullmatch(k) for k in keys), "JSON/YAML exports still name storage keys"
    assert document == (json.loads(ok(cli, "export", "/src").out) if suffix == "json"
                        else yaml.safe_load(ok(cli, "export", "/src", "--format", "yaml").out))


def test_export_to_a_file_reports_like_the_json_export(cli, local, tmp_path):
    make_source(cli, tmp_path)
    as_json = ok(cli, "export", "/src", "-f", str(tmp_path / "out.json"))
    as_tar = ok(cli, "export", "/src", "-f", str(tmp_path / "out.tar"))
    assert as_json.out == "" and as_tar.out == ""
    # In a pipe: at most the one-line note on stderr, no progress bar, no escape codes.
    assert len(as_tar.err.strip().splitlines()) <= 1, as_tar.err
    assert "\x1b" not in as_tar.err and "\r" not in as_tar.err and "━" not in as_tar.err
    if as_tar.err:
        assert "out.tar" in as_tar.err, as_tar.err


def test_export_of_a_single_file_and_back(cli, local, tmp_path):
    data = os.urandom(5000)
    original = put_bytes(cli, tmp_path, "/report.pdf", data, "report.pdf")
    target, archive = export_archive(cli, tmp_path, "/report.pdf")
    assert archive.names == [DOC, f"content/{sha(data)}"]
    assert archive.document["items"][0]["path"] == "." and archive.document["items"][0]["type"] == "File"
    assert ok(cli, "import", str(target), "/restored.pdf").out == "imported 1 item(s) to /restored.pdf\n"
    copy = item(cli, "/restored.pdf")["attributes"]
    assert copy["sha256"] == sha(data) and copy["size"] == len(data)
    assert copy["content_type"] == original["attributes"]["content_type"] == "application/pdf"
    assert copy["storage_key"] != original["attributes"]["storage_key"]
    assert fetch_verified(cli, tmp_path, "/restored.pdf") == data


# -- export: permissions and damaged content -------------------------------------------


@pytest.fixture
def owned_by_alice(cli, tmp_path) -> dict[str, bytes]:
    """/x owned by alice (restored by an admin's import) holding her /x/mine.bin and, owned
    by admin and not readable by her, /x/theirs.bin and /x/priv/secret.bin."""
    ok(cli, "user", "add", "alice")
    setup = tmp_path / "own.json"
    setup.write_text(json.dumps({"format": "realnet-export", "version": 1, "root": "/x", "items": [
        {"path": ".", "type": "Folder", "owner": "alice", "attributes": {}},
        {"path": "priv", "type": "Folder", "owner": "admin", "attributes": {}},
    ]}))
    ok(cli, "import", str(setup), "/x")
    data = {"mine": b"alice's own bytes\n", "theirs": b"THEIRS-" + os.urandom(64),
            "secret": b"SECRET-" + os.urandom(64)}
    put_bytes(cli, tmp_path, "/x/theirs.bin", data["theirs"], "theirs.bin")
    put_bytes(cli, tmp_path, "/x/priv/secret.bin", data["secret"], "secret.bin")
    (tmp_path / "mine.bin").write_bytes(data["mine"])
    ok(cli, "--as", "alice", "put", str(tmp_path / "mine.bin"), "/x/mine.bin")
    one_error(cli("--as", "alice", "get", "/x/theirs.bin"), 1, "no such item")
    return data


def test_a_user_exports_only_what_they_may_read(cli, local, owned_by_alice, tmp_path):
    data = owned_by_alice
    as_json = json.loads(ok(cli, "--as", "alice", "export", "/x").out)
    target = tmp_path / "alice.tar"
    ok(cli, "--as", "alice", "export", "/x", "-f", str(target))
    raw = target.read_bytes()
    archive = read_archive(raw)
    assert [e["path"] for e in archive.document["items"]] == [e["path"] for e in as_json["items"]] \
        == [".", "mine.bin"]
    assert archive.content == {sha(data["mine"]): data["mine"]}
    assert data["theirs"] not in raw and data["secret"] not in raw
    assert sha(data["theirs"]).encode() not in raw and sha(data["secret"]).encode() not in raw

    # ... and alice may bring it back into her home.
    ok(cli, "--as", "alice", "import", str(target), "/home/alice/x-copy")
    assert content_of("/home/alice/x-copy/mine.bin", "--as", "alice") == data["mine"]


DAMAGE = {
    "same-size": lambda data: os.urandom(len(data)),
    "truncated": lambda data: data[:-1],
    "longer": lambda data: data + b"!",
    "missing": lambda data: None,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_export_refuses_damaged_content_and_leaves_no_archive(cli, store, tmp_path, damage):
    make_source(cli, tmp_path)
    victim = item(cli, "/src/sub/b.bin")["attributes"]
    original = content_of("/src/sub/b.bin")
    store.tamper(victim["storage_key"], DAMAGE[damage](original))
    out = tmp_path / "exports"
    out.mkdir()
    for name in ("damaged.tar", "damaged.tar.gz"):
        result = cli("export", "/src", "-f", str(out / name))
        one_error(result, 1, "/src/sub/b.bin")
    assert sorted(out.iterdir()) == [], "no archive and no temporary file left behind"


def test_a_failed_export_keeps_an_existing_file(cli, local, tmp_path):
    make_source(cli, tmp_path)
    local.tamper(item(cli, "/src/a.txt")["attributes"]["storage_key"], b"ALPHA\n")
    target = tmp_path / "exports" / "keep.tar"
    target.parent.mkdir()
    target.write_bytes(b"an older archive")
    one_error(cli("export", "/src", "-f", str(target)), 1, "/src/a.txt")
    assert target.read_bytes() == b"an older archive"
    assert sorted(p.name for p in target.parent.iterdir()) == ["keep.tar"]


def test_a_failed_export_to_stdout_exits_1(cli, local, tmp_path):
    make_source(cli, tmp_path)
    local.tamper(item(cli, "/src/sub/b.bin")["attributes"]["storage_key"], os.urandom(200_000))
    done = realnet("export", "/src", "--format", "tar")
    one_error(done, 1, "/src/sub/b.bin")


# -- import: round trips ---------------------------------------------------------------


def check_round_trip(cli, store: StoreView, tmp_path: Path, files: dict[str, bytes], src: str, copy: str,
                     *, user: tuple[str, ...] = ()) -> None:
    """Every file of ``copy`` serves the bytes of ``src``: same sha256, size and content type,
    a storage key of its own; the rest of the tree is what a JSON export/import gives."""
    for relative, data in files.items():
        original, got = item(cli, f"{src}/{relative}")["attributes"], item(cli, f"{copy}/{relative}")["attributes"]
        for name in ("sha256", "size", "content_type"):
            assert got[name] == original[name], (relative, name)
        assert KEY.fullmatch(got["storage_key"]), got
        assert got["storage_key"] != original["storage_key"], relative
        assert fetch_verified(cli, tmp_path, f"{copy}/{relative}") == data, relative
        if user:
            assert content_of(f"{copy}/{relative}", *user) == data
    first = json.loads(ok(cli, "export", src).out)
    second = json.loads(ok(cli, "export", copy).out)
    if not user:  # an admin's import restores owners and times too
        assert without_keys(first) == without_keys(second)
    else:
        assert [(e["path"], e["type"]) for e in first["items"]] == [(e["path"], e["type"]) for e in second["items"]]
    assert store.incomplete() == []


@pytest.mark.parametrize("name", ["out.tar", "out.tar.gz"])
def test_round_trip_serves_the_exported_bytes_from_independent_copies(cli, store, tmp_path, name):
    # More than one 8 MiB S3 part: the import writes it with a multipart upload.
    files = make_source(cli, tmp_path, big=9 * MiB + 1 if store.kind == "s3" else 2 * MiB + 1)
    target, archive = export_archive(cli, tmp_path, name=name)
    count = len(archive.document["items"])
    result = ok(cli, "import", str(target), "/copy")
    assert result.out == f"imported {count} item(s) to /copy\n"
    check_round_trip(cli, store, tmp_path, files, "/src", "/copy")
    assert item(cli, "/copy/notes")["attributes"]["body"] == "first\nsteps"
    assert item(cli, "/copy/empty-folder")["type"] == "Folder"
    assert_no_orphans(cli, store)

    # The copies outlive the original: its bytes go, theirs stay.
    ok(cli, "rm", "-r", "-f", "/src")
    assert gc(cli)["removed"] == 0, "nothing was orphaned"
    for relative, data in files.items():
        assert fetch_verified(cli, tmp_path, f"/copy/{relative}") == data
    assert_no_orphans(cli, store)


def test_importing_twice_gives_two_independent_trees(cli, local, tmp_path):
    files = make_source(cli, tmp_path)
    target, _ = export_archive(cli, tmp_path)
    ok(cli, "import", str(target), "/one")
    ok(cli, "import", str(target), "/two")
    ok(cli, "rm", "-r", "-f", "/src")
    ok(cli, "rm", "-r", "-f", "/one")
    assert gc(cli)["removed"] == 0
    for relative, data in files.items():
        assert fetch_verified(cli, tmp_path, f"/two/{relative}") == data
    assert_no_orphans(cli, local)


def test_round_trip_on_postgresql(cli, pg_schema, monkeypatch, tmp_path):
    monkeypatch.setenv("REALNET_DB_TYPE", "postgresql")
    monkeypatch.setenv("REALNET_DB_URL", pg_schema)
    store = StoreView("local", load_settings())
    files = make_source(cli, tmp_path)
    target, _ = export_archive(cli, tmp_path, name="out.tgz")
    ok(cli, "import", str(target), "/copy")
    check_round_trip(cli, store, tmp_path, files, "/src", "/copy")
    ok(cli, "rm", "-r", "-f", "/src")
    assert gc(cli)["removed"] == 0
    for relative, data in files.items():
        assert fetch_verified(cli, tmp_path, f"/copy/{relative}") == data
    assert_no_orphans(cli, store)


@pytest.mark.parametrize(("exported", "renamed"), [
    ("out.tar", "looks-like.json"),
    ("out.tgz", "looks-like.yaml"),
    ("out.tar.gz", "no-extension"),
    ("out.tar", "plain.tgz"),
])
def test_import_knows_an_archive_by_its_bytes(cli, local, tmp_path, exported, renamed):
    files = make_source(cli, tmp_path)
    target, _ = export_archive(cli, tmp_path, name=exported)
    moved = target.rename(tmp_path / renamed)
    ok(cli, "import", str(moved), "/copy")
    check_round_trip(cli, local, tmp_path, files, "/src", "/copy")


@pytest.mark.parametrize("name", ["out.tar", "out.tgz"])
def test_import_an_archive_from_stdin(cli, local, tmp_path, name):
    files = make_source(cli, tmp_path)
    target, archive = export_archive(cli, tmp_path, name=name)
    done = realnet("import", "-", "/copy", input=target.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == f"imported {len(archive.document['items'])} item(s) to /copy\n"
    check_round_trip(cli, local, tmp_path, files, "/src", "/copy")


def test_export_to_stdout_piped_into_import(cli, local, tmp_path):
    files = make_source(cli, tmp_path)
    exported = realnet("export", "/src", "--format", "tar")
    assert exported.returncode == 0, exported.stderr.decode()
    imported = realnet("import", "-", "/copy", input=exported.stdout)
    assert imported.returncode == 0, imported.stderr.decode()
    check_round_trip(cli, local, tmp_path, files, "/src", "/copy")


def test_import_into_an_existing_folder_uses_the_exported_name(cli, local, tmp_path):
    files = make_source(cli, tmp_path)
    target, _ = export_archive(cli, tmp_path)
    ok(cli, "create", "/backups", "--type", "Folder")
    assert ok(cli, "import", str(target), "/backups").out.endswith("to /backups/src\n")
    check_round_trip(cli, local, tmp_path, files, "/src", "/backups/src")


def test_import_json_output(cli, local, tmp_path):
    make_source(cli, tmp_path)
    target, archive = export_archive(cli, tmp_path)
    result = ok(cli, "import", str(target), "/copy", "-o", "json")
    assert json.loads(result.out) == {"path": "/copy", "imported": len(archive.document["items"])}


def test_empty_files_round_trip(cli, local, tmp_path):
    ok(cli, "create", "/src", "--type", "Folder")
    put_bytes(cli, tmp_path, "/src/one.empty", b"", "one.empty")
    put_bytes(cli, tmp_path, "/src/two.empty", b"", "two.empty")
    target, archive = export_archive(cli, tmp_path)
    assert archive.names == [DOC, f"content/{EMPTY_SHA}"]
    assert archive.members[1].isfile() and archive.members[1].size == 0
    ok(cli, "import", str(target), "/copy")
    check_round_trip(cli, local, tmp_path, {"one.empty": b"", "two.empty": b""}, "/src", "/copy")


def test_a_tree_without_files_round_trips_as_with_json(cli, local, tmp_path):
    ok(cli, "create", "/src/a/b", "--type", "Folder", "-p")
    ok(cli, "create", "/src/a/doc", "--type", "Document", "-a", "title=T", "-a", "body=x\ny")
    target, archive = export_archive(cli, tmp_path)
    assert archive.names == [DOC]
    ok(cli, "export", "/src", "-f", str(tmp_path / "out.json"))
    ok(cli, "import", str(target), "/from-tar")
    ok(cli, "import", str(tmp_path / "out.json"), "/from-json")
    from_tar = json.loads(ok(cli, "export", "/from-tar").out)
    from_json = json.loads(ok(cli, "export", "/from-json").out)
    assert from_tar["items"] == from_json["items"] == archive.document["items"]
    assert local.keys() == set()


def test_a_file_without_content_round_trips_without_a_member(cli, local, tmp_path):
    ok(cli, "create", "/src", "--type", "Folder")
    ok(cli, "create", "/src/placeholder", "--type", "File")
    put_bytes(cli, tmp_path, "/src/real.bin", b"real")
    target, archive = export_archive(cli, tmp_path)
    assert archive.names == [DOC, f"content/{sha(b'real')}"]
    ok(cli, "import", str(target), "/copy")
    placeholder = item(cli, "/copy/placeholder")["attributes"]
    assert "storage_key" not in placeholder and "sha256" not in placeholder
    assert fetch_verified(cli, tmp_path, "/copy/real.bin") == b"real"
    assert_no_orphans(cli, local)


def test_a_subtype_of_file_carries_its_content(cli, local, tmp_path):
    ok(cli, "create", "/types/Photo", "--type", "Type", "-a", 'definition={"name": "Photo", "base": "File"}')
    data = os.urandom(4000)
    stored = put_bytes(cli, tmp_path, "/staging.jpg", data, "staging.jpg")["attributes"]
    # An admin restores a Photo that names existing content (what JSON import allows admins).
    setup = tmp_path / "photo.json"
    setup.write_text(json.dumps({"format": "realnet-export", "version": 1, "root": "/pics", "items": [
        {"path": ".", "type": "Folder", "attributes": {}},
        {"path": "cat.jpg", "type": "Photo", "attributes": {
            k: stored[k] for k in ("content_type", "size", "sha256", "storage_key")}},
    ]}))
    ok(cli, "import", str(setup), "/pics")
    assert content_of("/pics/cat.jpg") == data
    target, archive = export_archive(cli, tmp_path, "/pics")
    assert archive.content == {sha(data): data}
    ok(cli, "import", str(target), "/copy")
    got = item(cli, "/copy/cat.jpg")
    assert got["type"] == "Photo"
    assert got["attributes"]["storage_key"] not in (stored["storage_key"], None)
    ok(cli, "rm", "-r", "-f", "/pics")
    ok(cli, "rm", "/staging.jpg")
    assert fetch_verified(cli, tmp_path, "/copy/cat.jpg") == data
    assert_no_orphans(cli, local)


# -- import: bad archives change nothing -----------------------------------------------


@dataclass
class Base:
    """A valid archive of /src = one.txt, two.bin, empty.dat, taken apart for crafting."""

    document: dict
    data: dict[str, bytes]  # "one", "two", "empty" -> bytes

    def sha(self, key: str) -> str:
        return sha(self.data[key])

    def member(self, key: str, data: bytes | None = None, name: str | None = None) -> Member:
        return regular(name or f"content/{self.sha(key)}", self.data[key] if data is None else data)

    def doc(self, change: Callable[[dict], None] | None = None) -> Member:
        document = json.loads(json.dumps(self.document))
        if change is not None:
            change(document)
        return document_member(document)

    def entry(self, document: dict, path: str) -> dict:
        return next(e for e in document["items"] if e["path"] == path)

    def good(self) -> list[Member]:
        """The document, then one.txt's content, then two.bin's, then empty.dat's."""
        return [self.doc(), self.member("one"), self.member("two"), self.member("empty")]

    def tar(self, *members: Member, compress: bool = False) -> bytes:
        return tar_bytes(*members, compress=compress)


@pytest.fixture
def base(cli, tmp_path) -> Base:
    ok(cli, "create", "/src", "--type", "Folder")
    data = {"one": b"first file\n", "two": os.urandom(300_000), "empty": b""}
    for key, name in (("one", "one.txt"), ("two", "two.bin"), ("empty", "empty.dat")):
        put_bytes(cli, tmp_path, f"/src/{name}", data[key], name)
    _, archive = export_archive(cli, tmp_path, name="base.tar")
    (tmp_path / "base.tar").unlink()
    assert archive.content == {sha(d): d for d in data.values()}
    return Base(archive.document, data)


def _set(path: str, field: str, value) -> Callable[[Base], Callable[[dict], None]]:
    def change(b: Base) -> Callable[[dict], None]:
        def apply(document: dict) -> None:
            target = b.entry(document, path)
            if field == "type":
                target["type"] = value
            elif field == "path":
                target["path"] = value
            else:
                target["attributes"][field] = value
        return apply
    return change


def _same_digest(b: Base, path: str, size: int, like: str = "one") -> Callable[[dict], None]:
    """The entry at ``path`` claims the digest of ``like``'s bytes, with another size."""
    def apply(document: dict) -> None:
        attributes = b.entry(document, path)["attributes"]
        attributes["sha256"], attributes["size"] = b.sha(like), size
    return apply


def _cut_inside(b: Base, *, compress: bool) -> bytes:
    whole = b.tar(*b.good())
    with tarfile.open(fileobj=io.BytesIO(whole), mode="r:") as tar:
        member = tar.getmember(f"content/{b.sha('two')}")
    cut = whole[:member.offset_data + member.size // 2]
    if compress:
        packed = gzip.compress(whole)
        return packed[:len(packed) // 2]
    return cut


def _cut_after_one(b: Base) -> bytes:
    whole = b.tar(*b.good())
    with tarfile.open(fileobj=io.BytesIO(whole), mode="r:") as tar:
        member = tar.getmember(f"content/{b.sha('one')}")
    return whole[:member.offset_data + 512]  # one's data block, then nothing: no end marker


def _with_extra(name: str, data: bytes = b"x") -> Callable[[Base], bytes]:
    """A valid archive with one more member, after two.bin's content was written."""
    return lambda b: b.tar(b.doc(), b.member("one"), b.member("two"), regular(name, data), b.member("empty"))


def _empty_as(kind: bytes, linkname: str = "") -> Callable[[Base], bytes]:
    """empty.dat's content member as a non-regular member: reading it gives no bytes, which
    an importer that does not check the member's type would take for the empty content."""
    return lambda b: b.tar(b.doc(), b.member("one"), b.member("two"),
                           special(f"content/{EMPTY_SHA}", kind, linkname))


#: name -> (archive bytes from Base, fragments of which the error names at least one)
BAD: dict[str, tuple[Callable[[Base], bytes], Callable[[Base], tuple[str, ...]]]] = {
    "missing-member": (lambda b: b.tar(b.doc(), b.member("one"), b.member("empty")),
                       lambda b: (b.sha("two"), "two.bin")),
    "missing-empty-member": (lambda b: b.tar(b.doc(), b.member("one"), b.member("two")),
                             lambda b: (EMPTY_SHA, "empty.dat")),
    "wrong-bytes-same-size": (lambda b: b.tar(b.doc(), b.member("one"), b.member("two", os.urandom(300_000)),
                                              b.member("empty")),
                              lambda b: (b.sha("two"), "two.bin")),
    "member-too-short": (lambda b: b.tar(b.doc(), b.member("one"), b.member("two", b.data["two"][:-1]),
                                         b.member("empty")),
                         lambda b: (b.sha("two"), "two.bin")),
    "member-too-long": (lambda b: b.tar(b.doc(), b.member("one"), b.member("two", b.data["two"] + b"\0"),
                                        b.member("empty")),
                        lambda b: (b.sha("two"), "two.bin")),
    "document-size-disagrees": (
        lambda b: b.tar(b.doc(_set("two.bin", "size", 300_001)(b)), b.member("one"), b.member("two"),
                        b.member("empty")),
        lambda b: (b.sha("two"), "two.bin", "size")),
    # Two entries give one digest different sizes: whichever comes first, no item may
    # record a size its bytes do not have.
    "document-one-digest-two-sizes-lie-first": (
        lambda b: b.tar(b.doc(_same_digest(b, "empty.dat", len(b.data["one"]) + 5)), b.member("one"),
                        b.member("two")),
        lambda b: (b.sha("one"), "size", "empty.dat", "one.txt")),
    "document-one-digest-two-sizes-lie-last": (
        lambda b: b.tar(b.doc(_same_digest(b, "two.bin", len(b.data["one"]) + 5, like="one")),
                        b.member("one"), b.member("empty")),
        lambda b: (b.sha("one"), "size", "two.bin", "one.txt")),
    "duplicate-member-other-bytes": (
        lambda b: b.tar(b.doc(), b.member("one"), b.member("two"), b.member("two", os.urandom(300_000)),
                        b.member("empty")),
        lambda b: (b.sha("two"), "two.bin", "twice", "duplicate")),
    "truncated-tar": (lambda b: _cut_inside(b, compress=False), lambda b: ("",)),
    "truncated-gzip": (lambda b: _cut_inside(b, compress=True), lambda b: ("",)),
    "tar-cut-after-a-member": (_cut_after_one, lambda b: ("",)),
    "name-dot-dot": (_with_extra("../x"), lambda b: ("../x",)),
    "name-dot-dot-inside": (_with_extra("content/../../x"), lambda b: ("content/../../x",)),
    "name-absolute": (_with_extra("/tmp/realnet-archive-test-x"), lambda b: ("/tmp/realnet-archive-test-x",)),
    "name-not-a-hash": (_with_extra("content/notahash"), lambda b: ("content/notahash",)),
    "name-upper-case-hash": (lambda b: _with_extra(f"content/{b.sha('two').upper()}", b.data["two"])(b),
                             lambda b: (b.sha("two").upper(),)),
    "name-below-a-hash": (lambda b: _with_extra(f"content/{b.sha('one')}/x", b.data["one"])(b),
                          lambda b: (f"content/{b.sha('one')}/x",)),
    "name-outside-content": (_with_extra("other.txt"), lambda b: ("other.txt",)),
    "symlink-member": (_empty_as(tarfile.SYMTYPE, "/etc/passwd"), lambda b: (EMPTY_SHA,)),
    "hardlink-member": (_empty_as(tarfile.LNKTYPE, DOC), lambda b: (EMPTY_SHA,)),
    "directory-member": (_empty_as(tarfile.DIRTYPE), lambda b: (EMPTY_SHA,)),
    "device-member": (_empty_as(tarfile.CHRTYPE), lambda b: (EMPTY_SHA,)),
    "fifo-member": (_empty_as(tarfile.FIFOTYPE), lambda b: (EMPTY_SHA,)),
    "symlink-to-real-content": (
        lambda b: b.tar(b.doc(), b.member("one"), special(f"content/{b.sha('two')}", tarfile.SYMTYPE,
                                                          "/proc/self/environ"), b.member("empty")),
        lambda b: (b.sha("two"),)),
    "no-document": (lambda b: b.tar(b.member("one"), b.member("two"), b.member("empty")),
                    lambda b: (DOC, "document")),
    "empty-archive": (lambda b: b.tar(), lambda b: ("",)),
    "document-not-json": (lambda b: b.tar(regular(DOC, b"{not json"), b.member("one"), b.member("two"),
                                          b.member("empty")),
                          lambda b: ("JSON", "json")),
    "document-wrong-format": (
        lambda b: b.tar(b.doc(lambda d: d.update(format="other")), b.member("one"), b.member("two"),
                        b.member("empty")),
        lambda b: ("format",)),
    "document-unknown-type": (
        lambda b: b.tar(b.doc(_set("two.bin", "type", "NoSuchType")(b)), b.member("one"), b.member("two"),
                        b.member("empty")),
        lambda b: ("NoSuchType",)),
    "document-bad-path": (
        lambda b: b.tar(b.doc(_set("two.bin", "path", "../two.bin")(b)), b.member("one"), b.member("two"),
                        b.member("empty")),
        lambda b: ("../two.bin", "items[")),
    "document-bad-sha256": (
        lambda b: b.tar(b.doc(_set("two.bin", "sha256", "xyz")(b)), b.member("one"), b.member("two"),
                        b.member("empty")),
        lambda b: ("sha256",)),
    "document-negative-size": (
        lambda b: b.tar(b.doc(_set("two.bin", "size", -1)(b)), b.member("one"), b.member("two"),
                        b.member("empty")),
        lambda b: ("size",)),
    "gzip-garbage": (lambda b: GZIP_MAGIC + os.urandom(2000), lambda b: ("",)),
}


def check_bad_archive(cli, store: StoreView, base: Base, tmp_path: Path, case: str) -> None:
    make, names = BAD[case]
    archive = tmp_path / "crafted.tar"
    archive.write_bytes(make(base))
    tree_before, objects_before = ok(cli, "export", "/").out, store.objects()

    err = one_error(cli("import", "crafted.tar", "/dst"), 1, "crafted.tar")
    fragments = names(base)
    assert any(f in err for f in fragments), f"the error names what is wrong ({fragments}): {err!r}"

    one_error(cli("get", "/dst"), 1, "/dst: no such item")
    assert ok(cli, "export", "/").out == tree_before, "no item was created or changed"
    assert store.objects() == objects_before, "no content was left in the store"
    assert store.incomplete() == []
    collected = gc(cli)
    assert (collected["removed"], collected["incomplete_removed"]) == (0, 0), collected
    assert not Path("/tmp/realnet-archive-test-x").exists()
    assert not (tmp_path.parent / "x").exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_archive_changes_nothing(cli, local, base, tmp_path, case):
    check_bad_archive(cli, local, base, tmp_path, case)


@pytest.mark.parametrize("case", ["missing-member", "wrong-bytes-same-size", "truncated-tar",
                                  "name-dot-dot", "symlink-member"])
def test_a_bad_archive_changes_nothing_on_s3(cli, s3, base, tmp_path, case):
    check_bad_archive(cli, s3, base, tmp_path, case)


def test_a_bad_archive_from_stdin_changes_nothing(cli, local, base, tmp_path):
    tree_before, objects_before = ok(cli, "export", "/").out, local.objects()
    crafted = base.tar(base.doc(), base.member("one"), base.member("two", os.urandom(300_000)),
                       base.member("empty"), compress=True)
    done = realnet("import", "-", "/dst", input=crafted)
    one_error(done, 1)
    assert ok(cli, "export", "/").out == tree_before
    assert local.objects() == objects_before and local.incomplete() == []


def test_a_valid_archive_with_an_unused_member_leaves_no_orphan(cli, local, base, tmp_path):
    """A content member that no entry names: refused or skipped, but never left in the store."""
    extra = b"nobody names me\n"
    (tmp_path / "extra.tar").write_bytes(base.tar(*base.good(), regular(f"content/{sha(extra)}", extra)))
    result = cli("import", "extra.tar", "/dst")
    if result.code == 0:
        assert fetch_verified(cli, tmp_path, "/dst/two.bin") == base.data["two"]
    else:
        one_error(result, 1, "extra.tar")
        one_error(cli("get", "/dst"), 1, "no such item")
    assert gc(cli)["removed"] == 0, "nothing orphaned"
    assert_no_orphans(cli, local)


def test_an_import_that_fails_at_commit_leaves_no_content(cli, store, base, tmp_path):
    """Importing into a folder twice: the second finds /backups/src taken only when it
    commits, after every content member was written. Those bytes must go again."""
    view = store
    (tmp_path / "good.tar").write_bytes(base.tar(*base.good()))
    ok(cli, "create", "/backups", "--type", "Folder")
    ok(cli, "import", "good.tar", "/backups")
    tree_before, objects_before = ok(cli, "export", "/").out, view.objects()
    one_error(cli("import", "good.tar", "/backups"), 1, "/backups/src")
    assert ok(cli, "export", "/").out == tree_before
    assert view.objects() == objects_before and view.incomplete() == []
    assert gc(cli)["removed"] == 0
    assert_no_orphans(cli, view)


def test_import_onto_a_file_changes_nothing(cli, local, base, tmp_path):
    (tmp_path / "good.tar").write_bytes(base.tar(*base.good()))
    put_bytes(cli, tmp_path, "/taken.bin", b"taken")
    tree_before, objects_before = ok(cli, "export", "/").out, local.objects()
    one_error(cli("import", "good.tar", "/taken.bin"), 1, "/taken.bin")
    assert ok(cli, "export", "/").out == tree_before
    assert local.objects() == objects_before and local.incomplete() == []


# -- import: who may, and storage keys from the archive --------------------------------


@pytest.fixture
def secret(cli, tmp_path) -> dict:
    """alice (who may create in her home), and /secret/s.txt that she may not read."""
    ok(cli, "user", "add", "alice")
    ok(cli, "create", "/secret", "--type", "Folder")
    data = b"TOP SECRET " + os.urandom(32)
    attributes = put_bytes(cli, tmp_path, "/secret/s.txt", data, "s.txt")["attributes"]
    one_error(cli("--as", "alice", "get", "/secret/s.txt"), 1, "no such item")
    return {"data": data, **attributes}


def test_a_user_imports_an_archive_into_a_folder_they_may_create_in(cli, local, secret, tmp_path):
    files = make_source(cli, tmp_path)
    target, archive = export_archive(cli, tmp_path)
    result = ok(cli, "--as", "alice", "import", str(target), "/home/alice/got")
    assert result.out == f"imported {len(archive.document['items'])} item(s) to /home/alice/got\n"
    check_round_trip(cli, local, tmp_path, files, "/src", "/home/alice/got", user=("--as", "alice"))
    found = json.loads(ok(cli, "find", "/home/alice/got", "-o", "json").out)["items"]
    assert {i["owner"] for i in found} == {"alice"}, "only admins restore other owners"
    assert_no_orphans(cli, local)


def test_a_user_may_not_import_where_they_may_not_create(cli, local, secret, tmp_path):
    make_source(cli, tmp_path)
    target, _ = export_archive(cli, tmp_path)
    tree_before, objects_before = ok(cli, "export", "/").out, local.objects()
    result = cli("--as", "alice", "import", str(target), "/src-copy")
    one_error(result, 1)
    assert ok(cli, "export", "/").out == tree_before
    assert local.objects() == objects_before and local.incomplete() == []


@pytest.mark.parametrize("who", ["admin", "alice"])
def test_a_storage_key_in_the_archive_is_ignored(cli, local, secret, tmp_path, who):
    """The document names the secret's key for a file whose bytes the archive brings: the
    import stores those bytes under a key of its own and never names the secret's."""
    mine = b"my own bytes\n"
    document = {"format": "realnet-export", "version": 1, "root": "/loot", "items": [
        {"path": ".", "type": "Folder", "attributes": {}},
        {"path": "f.txt", "type": "File", "attributes": {
            "content_type": "text/plain", "size": len(mine), "sha256": sha(mine),
            "storage_key": secret["storage_key"]}},
    ]}
    (tmp_path / "loot.tar").write_bytes(tar_bytes(document_member(document), regular(f"content/{sha(mine)}", mine)))
    user = ("--as", "alice") if who == "alice" else ()
    ok(cli, *user, "import", "loot.tar", "/home/alice/loot")
    got = item(cli, "/home/alice/loot/f.txt")["attributes"]
    assert got["storage_key"] != secret["storage_key"]
    assert got["sha256"] == sha(mine) and got["size"] == len(mine)
    assert content_of("/home/alice/loot/f.txt", *user) == mine
    # The secret keeps its bytes when the imported item goes.
    ok(cli, "rm", "-r", "-f", "/home/alice/loot")
    assert content_of("/secret/s.txt") == secret["data"]
    assert item(cli, "/secret/s.txt")["attributes"]["storage_key"] == secret["storage_key"]
    assert_no_orphans(cli, local)


@pytest.mark.parametrize("who", ["admin", "alice"])
def test_a_storage_key_without_content_in_the_archive_reaches_no_bytes(cli, local, secret, tmp_path, who):
    """A file entry with the secret's key but no sha256 (so no member is needed): the key is
    ignored, so the imported item has no content, or the import is refused; either way
    nobody reads the secret through it."""
    document = {"format": "realnet-export", "version": 1, "root": "/loot", "items": [
        {"path": ".", "type": "Folder", "attributes": {}},
        {"path": "f.txt", "type": "File", "attributes": {"storage_key": secret["storage_key"]}},
    ]}
    (tmp_path / "loot.tar").write_bytes(tar_bytes(document_member(document)))
    user = ("--as", "alice") if who == "alice" else ()
    result = cli(*user, "import", "loot.tar", "/home/alice/loot")
    if result.code == 0:
        got = item(cli, "/home/alice/loot/f.txt")["attributes"]
        assert got.get("storage_key") != secret["storage_key"], got
        leaked = realnet(*user, "fetch", "/home/alice/loot/f.txt", "-")
        assert secret["data"] not in leaked.stdout
    else:
        one_error(result, 1, "loot.tar")
    assert content_of("/secret/s.txt") == secret["data"]


def test_a_user_cannot_claim_content_by_its_digest(cli, local, secret, tmp_path):
    """A file entry with the secret's sha256 and size but no content member: the import
    must not find those bytes in the store by their digest."""
    document = {"format": "realnet-export", "version": 1, "root": "/loot", "items": [
        {"path": ".", "type": "Folder", "attributes": {}},
        {"path": "f.txt", "type": "File", "attributes": {
            "content_type": "text/plain", "size": secret["size"], "sha256": secret["sha256"]}},
    ]}
    (tmp_path / "loot.tar").write_bytes(tar_bytes(document_member(document)))
    objects_before = local.objects()
    one_error(cli("--as", "alice", "import", "loot.tar", "/home/alice/loot"), 1, "loot.tar")
    one_error(cli("--as", "alice", "get", "/home/alice/loot"), 1, "no such item")
    assert local.objects() == objects_before


# -- progress ----------------------------------------------------------------------


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_shows_a_progress_bar_on_stderr(cli, local, tmp_path, monkeypatch):
    from realnet.cli import run
    from realnet.commands.session import Session

    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    files = make_source(cli, tmp_path, big=3 * MiB)
    for args, label in ((["export", "/src", "-f", "bar.tar"], "export bar.tar"),
                        (["import", "bar.tar", "/copy"], "import bar.tar")):
        out, err = io.StringIO(), Terminal()
        assert run(args, Session(stdout=out, stderr=err, interactive=True)) == 0, err.getvalue()
        assert label in err.getvalue() and "\x1b[" in err.getvalue(), err.getvalue()[:300]
        assert label not in out.getvalue() and "\x1b[" not in out.getvalue()
    check_round_trip(cli, local, tmp_path, files, "/src", "/copy")


# -- memory ----------------------------------------------------------------------------


MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": done.returncode, "max_rss_kib": usage.ru_maxrss}))
"""
LIMIT = 64 * MiB


def peak_rss(*args: str) -> int:
    """The peak RSS, in bytes, of ``realnet ARGS`` run alone under a fresh parent."""
    done = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "realnet", *args],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["code"] == 0, args
    return report["max_rss_kib"] * 1024


def test_export_and_import_of_100_mib_keep_memory_flat(cli, local, tmp_path):
    """Bytes stream through archives as through put and fetch: the peak memory of an
    export or import of 100 MiB is near that of one byte."""
    big, tiny = tmp_path / "big.bin", tmp_path / "tiny.bin"
    with big.open("wb") as out:
        for _ in range(100):
            out.write(os.urandom(MiB))
    tiny.write_bytes(b"x")
    ok(cli, "put", str(tiny), "/tiny.bin")
    ok(cli, "put", str(big), "/big.bin")
    big.unlink()
    growth = {}
    for suffix in ("tar", "tgz"):
        base_export = peak_rss("export", "/tiny.bin", "-f", str(tmp_path / f"tiny.{suffix}"))
        export = peak_rss("export", "/big.bin", "-f", str(tmp_path / f"big.{suffix}"))
        base_import = peak_rss("import", str(tmp_path / f"tiny.{suffix}"), f"/tiny-{suffix}")
        imported = peak_rss("import", str(tmp_path / f"big.{suffix}"), f"/big-{suffix}")
        growth[f"export {suffix}"] = export - base_export
        growth[f"import {suffix}"] = imported - base_import
        assert item(cli, f"/big-{suffix}")["attributes"]["size"] == 100 * MiB
    shown = {k: f"{v / MiB:.1f} MiB" for k, v in growth.items()}
    print("peak RSS growth:", shown)
    assert all(v < LIMIT for v in growth.values()), shown
