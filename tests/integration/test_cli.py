"""The CLI face: the tour from the README, output formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from realnet.providers.sql.schema import SQLITE_MIGRATIONS


def test_tour(cli):
    assert cli("create", "/projects", "--type", "Folder").code == 0
    r = cli("create", "/projects/notes", "--type", "Document", "--attr", "title=Plan", "--attr", "body=…")
    assert r.code == 0 and r.out == "created /projects/notes\n"
    assert cli("set", "/projects/notes", "title=Plan v2").out == "updated /projects/notes (version 2)\n"
    got = yaml.safe_load(cli("get", "/projects/notes", "-o", "yaml").out)
    assert got["attributes"] == {"title": "Plan v2", "body": "…", "format": "plain"}
    assert got["version"] == 2 and got["type"] == "Document"
    assert cli("tree", "/projects", "-L", "2").out == "/projects\n└── notes  [Document]\n"
    assert cli("find", "/", "--type", "Document", "--name", "no*").out == "/projects/notes\n"
    assert cli("mv", "-p", "/projects/notes", "/archive/notes").code == 0
    assert cli("rm", "-r", "--force", "/archive").out == "removed 2 item(s)\n"
    assert cli("ls", "/").out.split() == ["apps", "clusters", "home", "projects", "system", "types"]


def test_ls_json_is_machine_readable(cli):
    cli("create", "/projects", "--type", "Folder")
    cli("create", "/projects/a", "--type", "Folder")
    data = json.loads(cli("ls", "/projects", "-o", "json").out)
    assert [i["path"] for i in data["items"]] == ["/projects/a"]
    assert data["next_cursor"] is None
    assert set(data["items"][0]) >= {"id", "type", "version", "created", "updated", "attributes"}


def test_ls_pages_with_a_cursor(cli):
    cli("create", "/p", "--type", "Folder")
    for i in range(5):
        cli("create", f"/p/n{i}", "--type", "Folder")
    first = json.loads(cli("ls", "/p", "--limit", "2", "-o", "json").out)
    second = json.loads(cli("ls", "/p", "--limit", "2", "--cursor", first["next_cursor"], "-o", "json").out)
    assert [i["name"] for i in first["items"]] == ["n0", "n1"]
    assert [i["name"] for i in second["items"]] == ["n2", "n3"]
    plain = cli("ls", "/p", "--limit", "2")
    assert plain.out == "n0\nn1\n" and "--cursor" in plain.err  # the hint stays out of pipes
    assert cli("ls", "/p", "--limit", "2", "--all").out.split() == [f"n{i}" for i in range(5)]


def test_ls_long_and_globs(cli):
    cli("create", "/p", "--type", "Folder")
    cli("create", "/p/notes", "--type", "Document", "-a", "title=x")
    cli("create", "/p/other", "--type", "Folder")
    long = cli("ls", "-l", "/p").out.splitlines()
    assert long[0].startswith("Document\t1\t") and long[0].endswith("\tnotes")
    assert cli("ls", "/p/no*").out == "/p/notes\n"
    assert cli("ls", "/p/notes").out == "notes\n"


def test_a_name_with_wildcard_characters_is_taken_as_itself(cli):
    cli("create", "/d", "--type", "Folder")
    for name, body in (("report[1]", "throwaway"), ("report1", "important"), ("a*", "star"), ("abc", "abc")):
        assert cli("create", f"/d/{name}", "--type", "Document", "-a", "title=t", "-a", f"body={body}").code == 0
    assert cli("cat", "/d/report[1]").out == "throwaway\n"
    assert cli("ls", "/d/a*").out == "a*\n"
    for name in ("report[1]", "a*"):
        done = cli("rm", f"/d/{name}")
        assert (done.code, done.out) == (0, "removed 1 item(s)\n"), done.err
    assert cli("ls", "/d").out.split() == ["abc", "report1"]
    assert cli("rm", "/d/rep*").out == "removed 1 item(s)\n"  # a glob that names nothing still expands
    assert cli("ls", "/d").out.split() == ["abc"]


def test_tree_of_any_depth_and_its_truncation(cli, monkeypatch):
    deep = "/e" + "/a" * 150
    assert cli("create", "-p", deep, "--type", "Folder").code == 0
    drawn = cli("tree", "/e")
    assert drawn.code == 0 and len(drawn.out.splitlines()) == 151 and drawn.out.endswith("a  [Folder]\n")
    refused = cli("tree", "/e", "-o", "json")
    assert refused.code == 1 and refused.err == \
        "realnet: /e: deeper than 100 levels, more than -o json or yaml can show (limit it with -L)\n"
    shallow = json.loads(cli("tree", "/e", "-L", "100", "-o", "json").out)
    assert shallow["children"][0]["path"] == "/e/a" and "truncated" not in shallow
    monkeypatch.setattr("realnet.commands.navigate.TREE_LIMIT", 10)
    cut = json.loads(cli("tree", "/e", "-o", "json").out)
    assert cut["truncated"] is True
    assert "(truncated;" in cli("tree", "/e").out


def test_cat_types_info_help(cli):
    cli("create", "/d", "--type", "Document", "-a", "title=t", "-a", "body=hello")
    assert cli("cat", "/d").out == "hello\n"
    assert "Document" in cli("types").out
    shown = cli("types", "Document").out
    assert "title: string required" in shown and "Document  (Document → Item)" in shown
    info = yaml.safe_load(cli("info", "-o", "yaml").out)
    assert info["store"] == "local" and info["schema_version"] == len(SQLITE_MIGRATIONS) and info["identity"] == "admin"
    assert "password" not in json.dumps(info).lower()
    listing = cli("help").out
    for name in ("init", "info", "ls", "cd", "pwd", "get", "cat", "create", "set", "rm", "mv",
                 "cp", "tree", "find", "types", "help", "export", "import", "shell"):
        assert f"  {name} " in listing, name
    assert "--type" in cli("help", "create").out


def test_init_is_idempotent(cli):
    first = json.loads(cli("init", "-o", "json").out)
    assert first["types"]["created"] == 0 and first["items_created"] == 0  # done on first use
    again = json.loads(cli("init", "-o", "json").out)
    assert again["types"]["updated"] == 0 and again["types"]["unchanged"] > 20


def test_export_import_round_trip_through_files(cli, tmp_path):
    cli("create", "/src/sub", "--type", "Folder", "-p")
    cli("create", "/src/sub/doc", "--type", "Document", "-a", "title=T", "-a", "body=a\nb")
    for suffix in ("json", "yaml"):
        target = tmp_path / f"dump.{suffix}"
        assert cli("export", "/src", "-f", str(target)).code == 0
        assert cli("import", str(target), f"/copy-{suffix}").out == f"imported 3 item(s) to /copy-{suffix}\n"
        again = tmp_path / f"again.{suffix}"
        cli("export", f"/copy-{suffix}", "-f", str(again))
        first = yaml.safe_load(target.read_text())
        second = yaml.safe_load(again.read_text())
        assert first["items"] == second["items"]


def test_export_to_stdout_and_import_from_stdin(cli):
    cli("create", "/src", "--type", "Folder")
    dumped = cli("export", "/src").out
    assert cli("import", "-", "/dst", stdin=dumped).code == 0
    assert cli("get", "/dst").code == 0


def test_console_script_and_python_m():
    script = Path(sys.executable).with_name("realnet")
    assert script.exists(), "the console script 'realnet' is installed beside python"
    for command in ([sys.executable, "-m", "realnet", "ls", "/"], [str(script), "ls", "/"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["apps", "clusters", "home", "system", "types"]
    version = subprocess.run([sys.executable, "-m", "realnet", "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("realnet ")


def test_piped_output_has_no_decoration(cli):
    out = cli("ls", "-l", "/").out
    assert "\x1b[" not in out and "│" not in out


def test_secrets_never_printed(cli):
    cli("create", "/types/Login", "--type", "Type", "-a",
        'definition={"name": "Login", "base": "Item", "attributes": {"password": "secret"}}')
    assert cli("create", "/l", "--type", "Login", "-a", "password=hunter2").code == 0
    for args in (["get", "/l"], ["get", "/l", "-o", "json"], ["ls", "-l", "/"], ["find", "/", "-o", "yaml"]):
        result = cli(*args)
        assert result.code == 0 and "hunter2" not in result.out, args
    assert "<redacted>" in cli("get", "/l").out


def test_rm_r_of_a_folder_and_something_inside_it(cli):
    assert cli("create", "/a/b/c", "--type", "Folder", "-p").code == 0
    done = cli("rm", "-r", "-f", "/a/b", "/a", "/a/b/c")
    assert (done.code, done.out) == (0, "removed 3 item(s)\n"), done.err
    assert cli("get", "/a").code == 1


def test_ctrl_c_is_interrupted_with_130_like_a_remote_command(cli, monkeypatch):
    from realnet.core.context import Context

    def pressed_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Context, "list", pressed_ctrl_c)
        interrupted = cli("ls", "/")
    assert (interrupted.code, interrupted.err) == (130, "realnet: interrupted\n")
