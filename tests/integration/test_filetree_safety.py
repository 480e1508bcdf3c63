"""Local folders and documents mounted as subtrees keep what is on disk: links are acted on
themselves, moves out of a mount lose nothing and are refused before writing when they
would, walks end on link loops, and files written back keep their mode and owner."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import ok, one_line_error, realnet_without_override


def snapshot(root: Path) -> dict[str, object]:
    """Every entry below ``root``: a file's bytes, a link's target, or its kind."""
    found: dict[str, object] = {}
    for entry in sorted(root.rglob("*")):
        st = entry.lstat()
        if stat.S_ISLNK(st.st_mode):
            found[str(entry.relative_to(root))] = ("link", os.readlink(entry))
        elif stat.S_ISREG(st.st_mode):
            found[str(entry.relative_to(root))] = entry.read_bytes()
        else:
            found[str(entry.relative_to(root))] = stat.S_IFMT(st.st_mode)
    return found


def stored_content(home: Path) -> list[Path]:
    return [p for p in (home / "content").rglob("*") if p.is_file() and "incoming" not in p.parts]


def local(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / "local" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def disk(tmp_path: Path, cli) -> Path:
    """/t: a mounted folder with links inside it, to a file and to a folder."""
    root = tmp_path / "t"
    for folder in ("keep", "precious", "other"):
        (root / folder).mkdir(parents=True)
    (root / "keep" / "important.txt").write_text("important\n")
    (root / "precious" / "p1.txt").write_text("p\n")
    (root / "other" / "o.txt").write_text("o\n")
    (root / "link.txt").symlink_to("keep/important.txt")
    (root / "linkdir").symlink_to("precious")
    (root / "olink.txt").symlink_to("other/o.txt")
    ok(cli, "create", "/t", "--type", "FileTree", "--attr", f"path={root}")
    ok(cli, "create", "/store", "--type", "Folder")
    return root


# -- links are removed and renamed themselves -------------------------------------------------


def test_rm_and_mv_of_a_link_act_on_the_link_not_on_what_it_leads_to(cli, disk):
    assert ok(cli, "rm", "/t/link.txt").out == "removed 1 item(s)\n"
    assert ok(cli, "rm", "-r", "-f", "/t/linkdir").out == "removed 1 item(s)\n"
    ok(cli, "mv", "/t/olink.txt", "/t/renamed.txt")
    assert (disk / "keep" / "important.txt").read_text() == "important\n"
    assert (disk / "precious" / "p1.txt").read_text() == "p\n"
    assert (disk / "other" / "o.txt").read_text() == "o\n"
    assert not os.path.lexists(disk / "link.txt") and not os.path.lexists(disk / "linkdir")
    assert not os.path.lexists(disk / "olink.txt")
    assert os.readlink(disk / "renamed.txt") == "other/o.txt"
    assert ok(cli, "cat", "/t/renamed.txt").out == "o\n"


def test_a_relative_link_is_not_moved_where_it_would_lead_elsewhere(cli, disk):
    before = snapshot(disk)
    one_line_error(cli("mv", "/t/olink.txt", "/t/keep/o.txt"), "/t/olink.txt", "symbolic link")
    assert snapshot(disk) == before


# -- a move out of a folder deletes the source only once the copy has committed ------------------


def test_a_move_that_fails_while_removing_the_source_loses_nothing(cli, disk, monkeypatch):
    moved = disk / "dir"
    (moved / "m").mkdir(parents=True)
    files = {f"f{i}.txt": f"data{i}\n" for i in range(1, 6)} | {"m/locked.txt": "locked\n"}
    for name, text in files.items():
        (moved / name).write_text(text)
    unlink = os.unlink
    calls = []

    def third_fails(path, *args, dir_fd=None, **kwargs):
        if dir_fd is not None:  # removing the tree below a folder's descriptor
            calls.append(path)
            if len(calls) == 3:
                raise PermissionError(1, "Operation not permitted", path)
        return unlink(path, *args, dir_fd=dir_fd, **kwargs)

    with monkeypatch.context() as patched:  # undo() would also undo REALNET_HOME
        patched.setattr(os, "unlink", third_fails)
        r = cli("mv", "/t/dir", "/store/dir")
    one_line_error(r, "copied to /store/dir", "permission denied")
    for name, text in files.items():  # the store has it all; the disk kept what it could not remove
        assert ok(cli, "cat", f"/store/dir/{name}").out == text
    left = [p for p in moved.rglob("*") if p.is_file()]
    assert [p.name for p in left] == [calls[2]]


def test_a_move_out_of_a_folder_that_cannot_be_emptied_is_refused_before_writing(cli, disk):
    (disk / "dir" / "sub").mkdir(parents=True)
    (disk / "dir" / "a.txt").write_text("a\n")
    (disk / "dir" / "sub" / "b.txt").write_text("b\n")
    before = snapshot(disk)
    (disk / "dir" / "sub").chmod(0o555)
    try:
        proc = realnet_without_override("mv", "/t/dir", "/store/dir")
    finally:
        (disk / "dir" / "sub").chmod(0o755)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{disk / 'dir' / 'sub'} (this process may not remove" in proc.stderr
    assert "nothing was changed" in proc.stderr
    assert snapshot(disk) == before
    assert ok(cli, "ls", "/store").out == ""


# -- a move out of a mount refuses to lose what the mount does not show ------------------------


def test_a_move_out_of_a_folder_refuses_entries_no_item_shows(cli, disk, tmp_path):
    moved = disk / "dir"
    moved.mkdir()
    (moved / "a.txt").write_text("hello\n")
    os.mkfifo(moved / "fifo")
    (moved / "out").symlink_to(tmp_path)
    (moved / "sub").mkdir()
    with open(os.fsencode(moved) + b"/sub/\xff.bin", "wb") as f:
        f.write(b"latin-1 name")
    before = snapshot(disk)
    r = cli("mv", "/t/dir", "/store/dir")
    one_line_error(r, "/t/dir", "nothing was changed", f"{moved / 'fifo'} (neither a file nor a folder)",
                   f"{moved / 'out'} (a link leading out", f"{moved}/sub/\\xff.bin (a name no item can have")
    assert snapshot(disk) == before
    assert ok(cli, "ls", "/store").out == ""
    ok(cli, "cp", "/t/dir", "/store/dir")  # a copy leaves the source: it may carry what it can
    assert ok(cli, "ls", "/store/dir").out == "a.txt\nsub\n"
    os.unlink(moved / "fifo")
    os.unlink(moved / "out")
    shutil.rmtree(moved / "sub")
    (moved / "tab\tname.txt").write_text("tab")
    one_line_error(cli("mv", "/t/dir", "/store/moved"), "/t/dir/tab\\tname.txt (a name no item can have")
    assert (moved / "tab\tname.txt").read_text() == "tab"


def test_a_move_out_of_a_document_refuses_keys_no_name_shows(cli, tmp_path):
    document = tmp_path / "h.json"
    data = {"grp": {"": {"k": "empty key"}, "L" * 300: {"long": 1}, "ok": {"v": 1}}}
    document.write_text(json.dumps(data, indent=2))
    before = document.read_bytes()
    ok(cli, "create", "/h", "--type", "JsonDocument", "--attr", f"path={document}")
    ok(cli, "create", "/store", "--type", "Folder")
    one_line_error(cli("mv", "/h/grp", "/store/grp"), "/h/grp", "the key '' in /h/grp", "(300 bytes)")
    assert document.read_bytes() == before
    assert ok(cli, "ls", "/store").out == ""
    ok(cli, "mv", "/h/grp/ok", "/store/ok")  # what holds no such key still moves
    assert json.loads(document.read_text())["grp"].keys() == {"", "L" * 300}


# -- a walk ends, whatever links loop ------------------------------------------------------------


def test_link_loops_end_find_tree_and_rm(cli, disk):
    (disk / "a").mkdir()
    (disk / "a" / "f.txt").write_text("x\n")
    (disk / "a" / "up").symlink_to("..")
    (disk / "other" / "toa").symlink_to("../a")

    def realnet(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "realnet", *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc

    found = realnet("find", "/t").stdout.splitlines()
    assert found.count("/t/a/f.txt") == 1 and "/t/a/up" in found and len(found) == len(set(found))
    assert realnet("find", "/", "--name", "nothing").stdout == ""
    assert "f.txt" in realnet("tree", "/t").stdout
    assert realnet("rm", "-r", "-f", "/t/a").stdout == "removed 3 item(s)\n"
    assert not (disk / "a").exists() and (disk / "precious" / "p1.txt").exists()


# -- what is written back keeps its mode and owner ------------------------------------------------


def test_put_over_a_file_keeps_its_mode_and_owner(cli, disk, tmp_path):
    key, script = disk / "key.txt", disk / "run.sh"
    key.write_text("secret\n")
    key.chmod(0o600)
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o4755)
    if os.geteuid() == 0:
        os.chown(key, 65534, 65534)
    ok(cli, "put", local(tmp_path, "key.txt", b"new secret\n"), "/t/key.txt")
    ok(cli, "put", local(tmp_path, "run.sh", b"#!/bin/sh\necho bye\n"), "/t/run.sh")
    assert key.read_text() == "new secret\n"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(script.stat().st_mode) == 0o755  # runnable still, but no longer set-user-ID
    if os.geteuid() == 0:
        assert (key.stat().st_uid, key.stat().st_gid) == (65534, 65534)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_document_write_back_keeps_the_owner(cli, tmp_path):
    document = tmp_path / "o.yaml"
    document.write_text("a: 1\n")
    os.chown(document, 65534, 65534)
    document.chmod(0o600)
    ok(cli, "create", "/o", "--type", "YamlDocument", "--attr", f"path={document}")
    ok(cli, "set", "/o", "a=2")
    assert document.read_text() == "a: 2\n"
    st = document.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o600)


# -- refusals come before writing; a move releases the stored bytes -----------------------------


def test_a_move_out_of_a_read_only_mount_writes_nothing(cli, tmp_path, realnet_home):
    (tmp_path / "ro" / "dir").mkdir(parents=True)
    (tmp_path / "ro" / "dir" / "a.txt").write_text("a\n")
    (tmp_path / "rw").mkdir()
    ok(cli, "create", "/ro", "--type", "FileTree", "--attr", f"path={tmp_path / 'ro'}", "--attr", "read_only=true")
    ok(cli, "create", "/rw", "--type", "FileTree", "--attr", f"path={tmp_path / 'rw'}")
    ok(cli, "create", "/store", "--type", "Folder")
    one_line_error(cli("mv", "/ro/dir", "/rw/dir"), "/ro/dir", "read-only")
    assert list((tmp_path / "rw").iterdir()) == []
    one_line_error(cli("mv", "/ro/dir", "/store/dir"), "/ro/dir", "read-only")
    assert ok(cli, "ls", "/store").out == ""
    assert stored_content(realnet_home) == []
    assert (tmp_path / "ro" / "dir" / "a.txt").read_text() == "a\n"


def test_a_move_from_the_store_into_a_folder_releases_the_stored_bytes(cli, disk, tmp_path, realnet_home):
    ok(cli, "put", local(tmp_path, "f.txt", b"abc\n"), "/store/f.txt")
    ok(cli, "create", "/store/sub", "--type", "Folder")
    ok(cli, "put", local(tmp_path, "g.txt", b"ghi\n"), "/store/sub/g.txt")
    assert len(stored_content(realnet_home)) == 2
    ok(cli, "mv", "/store/f.txt", "/t/f.txt")
    assert len(stored_content(realnet_home)) == 1
    ok(cli, "mv", "/store/sub", "/t/sub")
    assert stored_content(realnet_home) == []
    assert (disk / "f.txt").read_text() == "abc\n" and (disk / "sub" / "g.txt").read_text() == "ghi\n"
