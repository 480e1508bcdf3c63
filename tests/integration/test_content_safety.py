"""File content under attack, under races and at the edges: fetch's temporary file, put -r
of trees it cannot take, readers during a replacement, hand-set content attributes,
HTTP ranges, storage gc's settings, on the local content folder and on S3 (moto).

Byte-exact output and signals go through ``python -m realnet`` child processes; the
rest through the in-process ``cli`` fixture.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from clikit import one_error

from realnet.app import open_context
from realnet.config import load_settings

MiB = 1024 * 1024
TIMEOUT = 120  # seconds: a hang detector for child processes, not a performance bound


@pytest.fixture(params=["local", "s3"])
def store(request):
    """Settings of this test's content store: the local folder, or a fresh S3 bucket."""
    return request.getfixturevalue("s3_settings") if request.param == "s3" else load_settings()


def realnet(*args: str, input: bytes | None = None, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "realnet", *args], input=input, capture_output=True,
                          timeout=timeout)




def put_bytes(cli, tmp_path: Path, target: str, data: bytes) -> None:
    source = tmp_path / "uploads" / hashlib.sha256(data).hexdigest()[:12]
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    result = cli("put", str(source), target)
    assert result.code == 0, result.err


def item(cli, path: str) -> dict:
    result = cli("get", path, "-o", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def exists(cli, path: str) -> bool:
    return cli("get", path).code == 0


# -- fetch: its temporary file -------------------------------------------------------


def test_fetch_never_writes_through_a_link_planted_beside_the_destination(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    victim = shared / "victim.txt"
    victim.write_bytes(b"precious")
    # the name an earlier fetch used for its temporary file, planted by someone else
    (shared / ".x.realnet-part").symlink_to("victim.txt")

    result = cli("fetch", "/a.txt", str(shared / "x"))
    assert result.code == 0, result.err
    assert victim.read_bytes() == b"precious"
    assert not (shared / "x").is_symlink() and (shared / "x").read_bytes() == b"hello\n"
    assert sorted(p.name for p in shared.iterdir()) == [".x.realnet-part", "victim.txt", "x"]


def test_fetch_gives_the_file_the_usual_permissions(cli, tmp_path):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    mask = os.umask(0o022)
    try:
        assert cli("fetch", "/a.txt", str(tmp_path / "out")).code == 0
    finally:
        os.umask(mask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o644


def test_concurrent_fetches_to_one_file_each_write_their_own(cli, tmp_path):
    data = os.urandom(96 * MiB)
    put_bytes(cli, tmp_path, "/big.bin", data)
    other = os.urandom(80 * MiB)
    put_bytes(cli, tmp_path, "/other.bin", other)
    out = tmp_path / "dl"
    out.mkdir()
    for _ in range(3):
        first = subprocess.Popen([sys.executable, "-m", "realnet", "fetch", "-f", "/big.bin", str(out / "c.bin")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        second = realnet("fetch", "-f", "/other.bin", str(out / "c.bin"))
        _, first_err = first.communicate(timeout=TIMEOUT)
        assert first.returncode == 0, first_err.decode()
        assert second.returncode == 0, second.stderr.decode()
        assert (out / "c.bin").read_bytes() in (data, other)
        assert sorted(p.name for p in out.iterdir()) == ["c.bin"]


def test_fetch_to_a_name_of_255_bytes(cli, tmp_path):
    name = "x" * 250
    assert cli("create", "/drop", "--type", "Folder").code == 0
    put_bytes(cli, tmp_path, f"/drop/{name}", b"hi\n")
    out = tmp_path / "out"
    out.mkdir()
    result = cli("fetch", f"/drop/{name}", str(out / ("y" * 255)))
    assert result.code == 0, result.err
    assert (out / ("y" * 255)).read_bytes() == b"hi\n"
    assert cli("fetch", f"/drop/{name}", str(out)).code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([name, "y" * 255])


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_during_fetch_leaves_no_temporary_file(cli, tmp_path, number):
    size = 256 * MiB
    source = tmp_path / "big.bin"
    with source.open("wb") as f:
        for _ in range(size // (8 * MiB)):
            f.write(os.urandom(8 * MiB))
    assert cli("put", str(source), "/big.bin").code == 0
    source.unlink()
    out = tmp_path / "dl"
    out.mkdir()
    fetch = subprocess.Popen([sys.executable, "-m", "realnet", "fetch", "/big.bin", str(out / "big.bin")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith("part") for p in out.iterdir()):  # it has begun writing
        assert fetch.poll() is None, "the fetch ended before it was seen writing"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    fetch.send_signal(number)
    fetch.communicate(timeout=TIMEOUT)
    assert fetch.returncode == -number  # it still ends by the signal, as it would have
    assert list(out.iterdir()) == []


# -- fetch: its destination ----------------------------------------------------------


def test_fetch_into_a_folder_that_does_not_exist_is_refused(cli, tmp_path):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    one_error(cli("fetch", "/a.txt", "newdir/"), 1, "newdir/: no such folder")
    assert not os.path.lexists(tmp_path / "newdir")
    (tmp_path / "plain").write_bytes(b"mine")
    one_error(cli("fetch", "/a.txt", "plain/"), 1, "plain/: not a folder")
    assert (tmp_path / "plain").read_bytes() == b"mine"
    (tmp_path / "folder").mkdir()
    assert cli("fetch", "/a.txt", "folder/").code == 0
    assert (tmp_path / "folder" / "a.txt").read_bytes() == b"hello\n"


def test_a_dangling_link_at_the_destination_needs_force(cli, tmp_path):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "target-not-there")
    one_error(cli("fetch", "/a.txt", str(link)), 1, "dangling: exists (use -f to overwrite)")
    assert link.is_symlink() and not (tmp_path / "target-not-there").exists()
    assert cli("fetch", "/a.txt", str(link), "-f").code == 0
    assert not link.is_symlink() and link.read_bytes() == b"hello\n"
    assert not (tmp_path / "target-not-there").exists()


# -- put -r: the tree is checked before anything is created ----------------------------


def _tree(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    (root / "sub").mkdir(parents=True)
    (root / "a").write_bytes(b"1")
    (root / "sub" / "b").write_bytes(b"2")
    (root / "z").write_bytes(b"3")
    return root


def test_put_tree_refuses_a_named_pipe_without_waiting_on_it(tmp_path):
    root = _tree(tmp_path, "t2")
    os.mkfifo(root / "sub" / "pipe")
    result = realnet("put", str(root), "/t2", "-r", timeout=30)
    one_error(result, 1, "t2/sub/pipe: a named pipe (FIFO); put -r takes regular files and folders only")
    assert realnet("get", "/t2").returncode == 1  # nothing was created


def test_put_tree_refuses_a_socket_before_uploading(cli, tmp_path):
    root = _tree(tmp_path, "t3")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "sub" / "sock"))
    try:
        one_error(cli("put", str(root), "/t3", "-r"), 1, "t3/sub/sock: a socket")
    finally:
        listener.close()
    assert not exists(cli, "/t3")


@pytest.mark.parametrize(("name", "shown"), [
    ("b\tc", "b\\tc: a name must not contain control characters"),
    ("nl\nx", "nl\\nx: a name must not contain control characters"),
    (os.fsdecode(b"bad\xff"), "bad\\xff: a name must be"),
], ids=["tab", "newline", "not-utf8"])
def test_put_tree_refuses_an_unrepresentable_name_before_uploading(cli, tmp_path, name, shown):
    root = _tree(tmp_path, "t9")
    (root / "sub" / name).write_bytes(b"x")
    one_error(cli("put", str(root), "/t9", "-r"), 1, shown)
    assert not exists(cli, "/t9")


def test_put_tree_refuses_a_folder_it_cannot_read(tmp_path):
    """Run without the capabilities that let root read everything, so that permissions apply."""
    root = _tree(tmp_path, "t12")
    (root / "sub").chmod(0)
    try:
        limited = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
        result = subprocess.run([*limited, sys.executable, "-m", "realnet", "put", str(root), "/t12", "-r"],
                                capture_output=True, timeout=TIMEOUT)
    finally:
        (root / "sub").chmod(0o755)
    one_error(result, 1, "t12/sub: cannot read this folder (Permission denied); nothing was put")
    assert realnet("get", "/t12").returncode == 1


def test_put_tree_notes_links_and_puts_the_rest(cli, tmp_path):
    root = _tree(tmp_path, "t11")
    (root / "sub" / "loop").symlink_to("..")
    (root / "dangling").symlink_to("nowhere")
    result = cli("put", str(root), "/t11", "-r")
    assert result.code == 0, result.err
    assert "t11/dangling: a symbolic link, not followed" in result.err
    assert "t11/sub/loop: a symbolic link, not followed" in result.err
    found = cli("find", "/t11", "-o", "json")
    assert sorted(i["path"] for i in json.loads(found.out)["items"]) == \
        ["/t11/a", "/t11/sub", "/t11/sub/b", "/t11/z"]


def test_put_tree_into_a_mount_of_itself_is_refused(cli, tmp_path):
    root = tmp_path / "ft2"
    (root / "sub").mkdir(parents=True)
    (root / "f").write_bytes(b"1")
    assert cli("create", "/m", "--type", "FileTree", "--attr", f"path={root}").code == 0
    before = sorted(str(p) for p in root.rglob("*"))
    for source, target in ((root, "/m/sub"), (root, "/m"), (root / "sub", "/m")):
        result = realnet("put", str(source), target, "-r", timeout=60)
        one_error(result, 1, "into itself")
    assert sorted(str(p) for p in root.rglob("*")) == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "o").write_bytes(b"o")
    assert cli("put", str(other), "/m/sub", "-r").code == 0
    assert (root / "sub" / "other" / "o").read_bytes() == b"o"


# -- content attributes are the content layer's ------------------------------------------


@pytest.mark.parametrize("attribute", ["size", "sha256", "storage_key"])
def test_content_attributes_cannot_be_set_by_hand(cli, tmp_path, attribute):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    before = item(cli, "/a.txt")
    value = "-5" if attribute == "size" else "0" * 32
    one_error(cli("set", "/a.txt", f"{attribute}={value}"), 1,
              f"/a.txt: attribute '{attribute}' is set by 'put' with the content, not by hand")
    one_error(cli("set", "/a.txt", "--unset", attribute), 1, f"attribute '{attribute}'")
    one_error(cli("create", "/b.txt", "--type", "File", "--attr", f"{attribute}={value}"), 1,
              f"attribute '{attribute}'")
    assert item(cli, "/a.txt") == before
    assert realnet("cat", "/a.txt").stdout == b"hello\n"


def test_http_content_length_is_the_content_size(cli, api, tmp_path):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    assert cli("set", "/a.txt", "size=99").code == 1
    got = httpx.get(f"{api.url}/api/v1/content/a.txt", headers=api.headers())
    assert got.status_code == 200 and got.content == b"hello\n"
    assert got.headers["content-length"] == "6"


# -- readers during a replacement, and lost content ------------------------------------------


def test_a_read_during_a_replacement_gets_the_old_or_the_new_bytes(store, tmp_path, monkeypatch):
    from realnet.core.context import Context

    reader, writer = open_context(store), open_context(store)
    try:
        writer.put_content("/r.txt", iter([b"old bytes"]))
        real_get = Context.get
        replaced = []

        def get_then_replace(self, path):
            found = real_get(self, path)
            if self is reader and not replaced:  # the replacement commits right after the read
                replaced.append(writer.put_content("/r.txt", iter([b"new bytes"])))
            return found

        monkeypatch.setattr(Context, "get", get_then_replace)
        item, chunks = reader.read_content("/r.txt")
        assert replaced
        assert b"".join(chunks) == b"new bytes"
        assert item.attributes["size"] == len(b"new bytes")
    finally:
        reader.provider.close()
        writer.provider.close()


def test_a_read_over_http_during_a_replacement_gets_the_new_bytes(api, tmp_path, monkeypatch):
    from realnet.core.context import Context

    writer = open_context(load_settings())
    try:
        writer.put_content("/r.bin", iter([b"old bytes"]))
        real_get = Context.get
        replaced = []

        def get_then_replace(self, path):
            found = real_get(self, path)
            if self is not writer and path == "/r.bin" and not replaced:
                replaced.append(writer.put_content("/r.bin", iter([b"the new bytes"])))
            return found

        monkeypatch.setattr(Context, "get", get_then_replace)
        got = httpx.get(f"{api.url}/api/v1/content/r.bin", headers={**api.headers(), "Range": "bytes=4-"})
        assert replaced
        assert got.status_code == 206 and got.content == b"new bytes"
        assert got.headers["content-range"] == "bytes 4-12/13"
    finally:
        writer.provider.close()


def test_cat_while_another_process_replaces_never_fails(cli, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello\n")
    (tmp_path / "b.txt").write_bytes(b"world\n")
    assert cli("put", str(tmp_path / "a.txt"), "/r.txt").code == 0
    script = ("import subprocess, sys\n"
              "for i in range(10):\n"
              "    for name in ('a.txt', 'b.txt'):\n"
              "        subprocess.run([sys.executable, '-m', 'realnet', 'put', name, '/r.txt'], check=True,"
              " capture_output=True)\n")
    writer = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    try:
        reads = 0
        while writer.poll() is None:
            done = realnet("cat", "/r.txt")
            assert done.returncode == 0, done.stderr.decode()
            assert done.stdout in (b"hello\n", b"world\n")
            reads += 1
    finally:
        writer.wait(timeout=TIMEOUT)
    assert writer.returncode == 0 and reads > 0


def test_lost_content_is_reported_by_the_item_path(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    key = item(cli, "/a.txt")["attributes"]["storage_key"]
    context = open_context(store)
    try:
        context.content.delete(key)
    finally:
        context.provider.close()
    for args in (("cat", "/a.txt"), ("fetch", "/a.txt", str(tmp_path / "out"))):
        err = one_error(cli(*args), 1, "/a.txt: its content is missing from ")
        assert err.startswith("realnet: /a.txt:") and key in err
    assert not (tmp_path / "out").exists()


# -- HTTP ranges (RFC 9110 §14.2) ----------------------------------------------------------------


@pytest.mark.parametrize("header", ["items=0-1", "lines=1-2", "bytes=0-1,3-4", "bytes=0-0, -1", "BYTES=0-1,5-"])
def test_ranges_the_server_does_not_serve_are_ignored(cli, api, tmp_path, header):
    body = bytes(range(100))
    put_bytes(cli, tmp_path, "/r.bin", body)
    got = httpx.get(f"{api.url}/api/v1/content/r.bin", headers={**api.headers(), "Range": header})
    assert got.status_code == 200, got.text
    assert got.content == body and "content-range" not in got.headers


@pytest.mark.parametrize(("header", "status", "content"), [
    ("bytes=2-4", 206, bytes([2, 3, 4])),
    ("Bytes = 97-", 206, bytes([97, 98, 99])),
    ("bytes=0-" + "9" * 5000, 206, bytes(range(100))),
    ("bytes=" + "9" * 5000 + "-", 416, None),
    ("bytes=100-", 416, None),
    ("bytes=abc", 400, None),
    ("bytes=", 400, None),
], ids=["middle", "unit-in-other-case", "end-of-5000-digits", "start-of-5000-digits", "past-the-end",
        "malformed", "empty"])
def test_single_byte_ranges_are_kept(cli, api, tmp_path, header, status, content):
    body = bytes(range(100))
    put_bytes(cli, tmp_path, "/r.bin", body)
    got = httpx.get(f"{api.url}/api/v1/content/r.bin", headers={**api.headers(), "Range": header})
    assert got.status_code == status, got.text
    if content is not None:
        assert got.content == content
    if status == 416:
        assert got.headers["content-range"] == "bytes */100"


# -- storage gc ----------------------------------------------------------------------


@pytest.mark.parametrize("grace", ["nan", "inf", "-inf", "NaN"])
def test_gc_grace_must_be_a_number_of_seconds(cli, grace):
    one_error(cli("storage", "gc", "--grace", grace), 2, "--grace")


def test_gc_with_a_grace_longer_than_the_epoch_keeps_everything(cli, store, tmp_path):
    put_bytes(cli, tmp_path, "/a.txt", b"hello\n")
    context = open_context(store)
    try:
        orphan = context.content.write(iter([b"orphan"])).key
    finally:
        context.provider.close()
    result = cli("storage", "gc", "--grace", "1e300", "-o", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["removed"] == 0
    context = open_context(store)
    try:
        assert b"".join(context.content.read(orphan)) == b"orphan"
    finally:
        context.provider.close()


def test_gc_against_a_remote_realnet_says_where_to_run_it(cli, api):
    result = cli("--url", api.url, "--token", api.token, "storage", "gc")
    one_error(result, 1, "run it where the store is")


# -- put from stdin ------------------------------------------------------------------


def test_put_stdin_to_a_folder_path_that_does_not_exist_is_refused(cli):
    one_error(cli("put", "-", "/new/", stdin="x\n"), 1, "/new/: no such folder")
    assert not exists(cli, "/new")
    assert cli("create", "/f", "--type", "Folder").code == 0
    one_error(cli("put", "-", "/f/", stdin="x\n"), 2, "name the file to create in /f/")
    assert json.loads(cli("ls", "/f", "-o", "json").out)["items"] == []
    done = realnet("put", "-", "/f/x", input=b"x\n")
    assert done.returncode == 0, done.stderr.decode()
    assert realnet("cat", "/f/x").stdout == b"x\n"
