"""Mounts through the CLI: YAML, JSON and XML files and local folders shown as subtrees
of the tree, read through every command and written back in place on disk."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import defusedxml.ElementTree as ET
import pytest
import yaml

SETTINGS = """\
# settings for the demo
name: demo   # shown at the top
version: 3
database:
  host: "db.local"   # quoted on purpose
  port: 5432
  tags: [primary, eu]
servers:
  - name: one
    ip: 10.0.0.1
  - name: two
    ip: 10.0.0.2
ports: [80, 443]
"""


def ok(cli, *args):
    r = cli(*args)
    assert r.code == 0, f"{args}: {r.err}"
    return r


def item(cli, path: str) -> dict:
    return json.loads(ok(cli, "get", path, "-o", "json").out)


def local(folder: Path, name: str, text: str) -> str:
    """A local file to put (the in-process CLI has no binary stdin for 'put -')."""
    path = folder / "local" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return str(path)


def changes(before: str, after: str) -> list[str]:
    """The lines taken out ('-') and put in ('+'), nothing else."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""))[2:]
    return [line for line in diff if not line.startswith("@@")]


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def config(tmp_path, cli) -> Path:
    f = tmp_path / "settings.yaml"
    f.write_text(SETTINGS)
    assert ok(cli, "create", "/config", "--type", "YamlDocument", "--attr", f"path={f}").out == "created /config\n"
    return f


@pytest.fixture
def reports(tmp_path, cli) -> Path:
    """A folder with a file below a subfolder, a link inside it and a link leading out of it."""
    root = tmp_path / "srv" / "reports"
    (root / "2026").mkdir(parents=True)
    (root / "2026" / "q3.csv").write_text("region,total\neu,42\n")
    (root / "2026" / "notes.txt").write_text("notes\n")
    (root / "summary.csv").write_text("year,total\n2026,42\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("password,hunter2\n")
    (root / "leak.csv").symlink_to(outside / "secret.csv")
    (root / "leakdir").symlink_to(outside)
    (root / "latest.csv").symlink_to(Path("2026") / "q3.csv")
    return root


# -- documents ------------------------------------------------------------------------------


def test_yaml_mount_shows_objects_lists_and_values(cli, config):
    assert ok(cli, "ls", "/config").out == "database\nservers\n"
    kinds = {line.split("\t")[-1]: line.split("\t")[0] for line in ok(cli, "ls", "-l", "/config").out.splitlines()}
    assert kinds == {"database": "DocumentObject", "servers": "DocumentList"}
    mount = item(cli, "/config")
    assert mount["type"] == "YamlDocument"
    assert mount["attributes"] == {"name": "demo", "version": 3, "ports": [80, 443], "path": str(config),
                                   "read_only": False}
    database = item(cli, "/config/database")
    assert database["type"] == "DocumentObject"
    assert database["attributes"] == {"host": "db.local", "port": 5432, "tags": ["primary", "eu"]}
    assert ok(cli, "ls", "/config/servers").out == "0\n1\n"
    second = item(cli, "/config/servers/1")
    assert second["type"] == "DocumentObject" and second["attributes"] == {"name": "two", "ip": "10.0.0.2"}
    assert ok(cli, "tree", "/config").out.count("[DocumentObject]") == 3


def test_get_of_an_attribute_prints_its_value(cli, config):
    assert ok(cli, "get", "/config/database/host").out == "db.local\n"
    assert json.loads(ok(cli, "get", "/config/database/host", "-o", "json").out) == "db.local"
    assert json.loads(ok(cli, "get", "/config/database/port", "-o", "json").out) == 5432
    assert json.loads(ok(cli, "get", "/config/database/tags", "-o", "json").out) == ["primary", "eu"]
    assert ok(cli, "get", "/config/name").out == "demo\n"
    assert cli("get", "/config/database/nothing").code == 1


def test_set_writes_back_only_the_changed_line(cli, config):
    before = config.read_text()
    ok(cli, "set", "/config/database", "port=5433")
    assert changes(before, config.read_text()) == ["-  port: 5432", "+  port: 5433"]
    assert json.loads(ok(cli, "get", "/config/database/port", "-o", "json").out) == 5433
    middle = config.read_text()
    ok(cli, "set", "/config", "name=other")  # a top-level value, set on the mount itself
    assert changes(middle, config.read_text()) == ["-name: demo   # shown at the top",
                                                   "+name: other  # shown at the top"]
    assert item(cli, "/config")["attributes"]["path"] == str(config)


# (file, item, assignment, the one line before, the same line after)
STYLES = {
    "flat-lists": ("kind: Pod\nspec:\n  containers:\n  - name: app\n    image: nginx\n    ports:\n"
                   "    - containerPort: 80\n", "/doc/spec/containers/0", "image=nginx:2",
                   "    image: nginx", "    image: nginx:2"),
    "four-spaces": ("app:\n    name: web\nservers:\n-   name: one\n    ip: 10.0.0.1\n", "/doc/app",
                    "name=w", "    name: web", "    name: w"),
    "four-spaces-flat-lists": ("app:\n    name: web\nservers:\n- name: one\n  ip: 10.0.0.1\n", "/doc/app",
                               "name=w", "    name: web", "    name: w"),
    "tilde-null": ("a: 1\nunset: ~\n", "/doc", "a=2", "a: 1", "a: 2"),
    "yaml11-words": ("db:\n  port: 1\n  enabled: yes\n  on: off\n", "/doc/db", "port=2", "  port: 1",
                     "  port: 2"),
    "directive": ("%YAML 1.2\n---\na: 1\n", "/doc", "a=2", "a: 1", "a: 2"),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_set_keeps_every_other_line_in_any_yaml_style(cli, tmp_path, style):
    text, path, assignment, old, new = STYLES[style]
    f = tmp_path / "style.yaml"
    f.write_text(text)
    ok(cli, "create", "/doc", "--type", "YamlDocument", "--attr", f"path={f}")
    ok(cli, "set", path, assignment)
    assert changes(text, f.read_text()) == [f"-{old}", f"+{new}"]


def test_top_level_title_and_description_are_values_of_the_document(cli, tmp_path):
    f = tmp_path / "app.yaml"
    text = "title: My app\ndescription: what it does\nname: a\nsub:\n  k: 1\n"
    f.write_text(text)
    ok(cli, "create", "/app", "--type", "YamlDocument", "--attr", f"path={f}")
    ok(cli, "set", "/app", "name=b")
    assert changes(text, f.read_text()) == ["-name: a", "+name: b"]
    shown = item(cli, "/app")["attributes"]
    assert shown["title"] == "My app" and shown["description"] == "what it does"
    ok(cli, "set", "/app", "description=new words")
    assert yaml.safe_load(f.read_text())["description"] == "new words"


def test_values_typed_are_json_when_they_parse(cli, config):
    ok(cli, "set", "/config/database", "port=5433", "enabled=true", "label=\"5433\"", "note=plain words")
    on_disk = yaml.safe_load(config.read_text())["database"]
    assert on_disk["port"] == 5433 and on_disk["enabled"] is True
    assert on_disk["label"] == "5433" and on_disk["note"] == "plain words"
    shown = item(cli, "/config/database")["attributes"]
    assert shown["port"] == 5433 and shown["enabled"] is True and shown["label"] == "5433"


def test_set_reports_the_version_the_file_now_has(cli, config):
    out = ok(cli, "set", "/config/database", "port=5433").out
    now = item(cli, "/config/database")["version"]
    assert out == f"updated /config/database (version {now})\n"
    ok(cli, "set", "/config/database", "port=5434", "--if-version", str(now))


def test_create_and_rm_inside_a_yaml_document(cli, config):
    ok(cli, "create", "/config/cache", "--type", "DocumentObject", "--attr", "ttl=60")
    ok(cli, "rm", "-r", "-f", "/config/servers/0")
    text = config.read_text()
    data = yaml.safe_load(text)
    assert data["cache"] == {"ttl": 60}
    assert data["servers"] == [{"name": "two", "ip": "10.0.0.2"}]
    assert "# settings for the demo" in text and "# quoted on purpose" in text
    assert ok(cli, "ls", "/config/servers").out == "0\n"


def test_json_document(tmp_path, cli):
    f = tmp_path / "app.json"
    f.write_text(json.dumps({"title": "app", "db": {"host": "h", "port": 1},
                             "workers": [{"id": 1}, {"id": 2}], "flags": ["a", "b"]}, indent=2) + "\n")
    ok(cli, "create", "/app", "--type", "JsonDocument", "--attr", f"path={f}")
    assert ok(cli, "ls", "/app").out == "db\nworkers\n"
    assert ok(cli, "ls", "/app/workers").out == "0\n1\n"
    assert item(cli, "/app/workers")["type"] == "DocumentList"
    assert item(cli, "/app")["attributes"]["flags"] == ["a", "b"]
    assert json.loads(ok(cli, "get", "/app/db/port", "-o", "json").out) == 1
    before = f.read_text()
    ok(cli, "set", "/app/db", "port=2")
    assert changes(before, f.read_text()) == ['-    "port": 1', '+    "port": 2']
    ok(cli, "set", "/app/workers/1", "id=\"two\"")
    assert json.loads(f.read_text())["workers"][1] == {"id": "two"}


XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<config version="2">
  <name>demo</name>
  <database host="db.local"><port>5432</port></database>
  <note lang="en">primary<ref>r1</ref></note>
  <server id="a"><ip>10.0.0.1</ip></server>
  <server id="b"><ip>10.0.0.2</ip></server>
  <tag>x</tag>
  <tag>y</tag>
</config>
"""


def test_xml_document(tmp_path, cli):
    f = tmp_path / "config.xml"
    f.write_text(XML)
    ok(cli, "create", "/x", "--type", "XmlDocument", "--attr", f"path={f}")
    top = item(cli, "/x")["attributes"]
    assert top["@version"] == "2" and top["name"] == "demo" and top["tag"] == ["x", "y"]
    assert ok(cli, "ls", "/x").out == "database\nnote\nserver\n"
    assert item(cli, "/x/database")["attributes"] == {"@host": "db.local", "port": "5432"}
    assert item(cli, "/x/note")["attributes"] == {"@lang": "en", "#text": "primary", "ref": "r1"}
    assert item(cli, "/x/server")["type"] == "DocumentList"
    assert item(cli, "/x/server/1")["attributes"] == {"@id": "b", "ip": "10.0.0.2"}
    assert ok(cli, "get", "/x/database/@host").out == "db.local\n"
    ok(cli, "set", "/x/database", "port=5433", "@host=db2")
    root = ET.fromstring(f.read_bytes())
    assert root.find("database").get("host") == "db2" and root.find("database/port").text == "5433"
    assert [t.text for t in root.findall("tag")] == ["x", "y"]
    assert [s.get("id") for s in root.findall("server")] == ["a", "b"]
    assert root.find("note").text == "primary" and root.get("version") == "2"


def test_xml_text_after_a_child_element_survives_a_write(tmp_path, cli):
    # Mixed content: the element's own text comes after its first child.
    f = tmp_path / "mixed.xml"
    f.write_text("<root>\n  <note><ref>r1</ref>kept text</note>\n  <n>1</n>\n</root>\n")
    ok(cli, "create", "/m", "--type", "XmlDocument", "--attr", f"path={f}")
    ok(cli, "set", "/m", "n=2")
    assert ET.fromstring(f.read_bytes()).find("n").text == "2"
    assert "kept text" in f.read_text()  # a change elsewhere must not drop it
    assert item(cli, "/m/note")["attributes"].get("#text") == "kept text"


COMMENTED_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Licensed under the terms in LICENSE. -->
<project>
  <!-- what the build is called -->
  <name>demo</name>
  <module>core</module>
  <property key="a">1</property>
  <module>web</module>
  <property key="b">2</property>
</project>
<!-- end of project -->
"""


def test_an_xml_write_changes_only_what_was_changed(tmp_path, cli):
    f = tmp_path / "pom.xml"
    f.write_text(COMMENTED_XML)
    ok(cli, "create", "/p", "--type", "XmlDocument", "--attr", f"path={f}")
    ok(cli, "set", "/p", "name=demo2")
    assert changes(COMMENTED_XML, f.read_text()) == ["-  <name>demo</name>", "+  <name>demo2</name>"]
    ok(cli, "set", "/p/property/1", "#text=3")
    assert changes(COMMENTED_XML, f.read_text()) == [
        "-  <name>demo</name>", "+  <name>demo2</name>",
        '-  <property key="b">2</property>', '+  <property key="b">3</property>']
    ok(cli, "create", "/p/dependency", "--type", "DocumentObject", "--attr", "artifact=x")
    assert f.read_text().endswith("  <property key=\"b\">3</property>\n  <dependency>\n    <artifact>x</artifact>\n"
                                  "  </dependency>\n</project>\n<!-- end of project -->\n")


def test_every_item_carries_the_version_of_the_file(cli, config):
    versions = {item(cli, p)["version"] for p in ("/config/database", "/config/servers", "/config/servers/0")}
    assert len(versions) == 1
    (old,) = versions
    stamp = os.stat(config).st_mtime_ns + 5_000_000_000
    os.utime(config, ns=(stamp, stamp))  # touched, same bytes: same version
    assert item(cli, "/config/database")["version"] == old
    edited = config.read_text() + "extra: 1\n"
    config.write_text(edited)  # someone else edits the file
    assert item(cli, "/config/servers/1")["version"] != old
    r = cli("set", "/config/database", "port=1", "--if-version", str(old))
    assert r.code == 1 and "stale" in r.err and r.err.count("\n") == 1
    assert config.read_text() == edited


def test_rm_of_a_mount_keeps_the_file(cli, config):
    ok(cli, "rm", "/config")
    assert "config" not in ok(cli, "ls", "/").out.split()
    assert config.read_text() == SETTINGS


# -- local folders ----------------------------------------------------------------------------


def test_filetree_browse_find_fetch_cat(cli, reports, tmp_path):
    ok(cli, "create", "/reports", "--type", "FileTree", "--attr", f"path={reports}", "--attr", "read_only=true")
    assert ok(cli, "ls", "/reports").out == "2026\nlatest.csv\nsummary.csv\n"
    assert ok(cli, "find", "/reports", "--name", "*.csv").out == \
        "/reports/2026/q3.csv\n/reports/latest.csv\n/reports/summary.csv\n"
    assert item(cli, "/reports/2026/q3.csv")["attributes"]["size"] == len("region,total\neu,42\n")
    download = tmp_path / "download"
    download.mkdir()
    os.chdir(download)
    ok(cli, "fetch", "/reports/2026/q3.csv", ".")
    assert (download / "q3.csv").read_text() == "region,total\neu,42\n"
    assert ok(cli, "cat", "/reports/summary.csv").out == "year,total\n2026,42\n"
    assert ok(cli, "cat", "/reports/latest.csv").out == "region,total\neu,42\n"  # a link inside works


def test_filetree_links_leading_outside_are_neither_listed_nor_read(cli, reports):
    ok(cli, "create", "/reports", "--type", "FileTree", "--attr", f"path={reports}")
    assert "leak" not in ok(cli, "ls", "/reports").out
    assert "secret" not in ok(cli, "find", "/reports").out
    for args in (("cat", "/reports/leak.csv"), ("get", "/reports/leak.csv"), ("ls", "/reports/leakdir"),
                 ("cat", "/reports/leakdir/secret.csv"), ("fetch", "/reports/leak.csv", "-")):
        r = cli(*args)
        assert r.code == 1 and "outside the mounted folder" in r.err and r.err.count("\n") == 1, (args, r.err)
        assert "hunter2" not in r.out


def test_filetree_read_write_changes_the_disk(cli, reports, tmp_path):
    ok(cli, "create", "/reports", "--type", "FileTree", "--attr", f"path={reports}")
    ok(cli, "put", local(tmp_path, "q4.csv", "region,total\neu,43\n"), "/reports/2026/q4.csv")
    assert (reports / "2026" / "q4.csv").read_text() == "region,total\neu,43\n"
    inode = os.stat(reports / "summary.csv").st_ino
    ok(cli, "put", local(tmp_path, "summary.csv", "replaced\n"), "/reports/summary.csv")
    assert (reports / "summary.csv").read_text() == "replaced\n"
    assert os.stat(reports / "summary.csv").st_ino != inode  # renamed into place, not rewritten
    ok(cli, "create", "/reports/2027", "--type", "Folder")
    assert (reports / "2027").is_dir()
    ok(cli, "mv", "/reports/2026/q4.csv", "/reports/2027/q1.csv")
    assert (reports / "2027" / "q1.csv").read_text() == "region,total\neu,43\n"
    assert not (reports / "2026" / "q4.csv").exists()
    ok(cli, "rm", "/reports/2026/notes.txt")
    assert not (reports / "2026" / "notes.txt").exists()
    assert cli("rm", "/reports/2027").code == 1 and (reports / "2027").is_dir()
    ok(cli, "rm", "-r", "-f", "/reports/2027")
    assert not (reports / "2027").exists()
    assert not [p for p in reports.rglob("*") if "realnet-tmp" in p.name]


def test_put_that_fails_midway_leaves_the_old_file(cli, reports, monkeypatch, tmp_path):
    ok(cli, "create", "/reports", "--type", "FileTree", "--attr", f"path={reports}")
    import realnet.providers.filetree as filetree

    def no_rename(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(filetree.os, "replace", no_rename)
    r = cli("put", local(tmp_path, "summary.csv", "half written\n"), "/reports/summary.csv")
    monkeypatch.undo()
    assert r.code == 1 and "summary.csv" in r.err and r.err.count("\n") == 1
    assert (reports / "summary.csv").read_text() == "year,total\n2026,42\n"
    assert not [p for p in reports.rglob("*") if "realnet-tmp" in p.name]


# -- across providers ------------------------------------------------------------------------------


def test_copy_a_document_into_the_store(cli, config):
    ok(cli, "create", "/backup", "--type", "Folder")
    ok(cli, "cp", "-r", "/config", "/backup/config")
    assert ok(cli, "tree", "/backup/config").out.count("[DocumentObject]") == 3
    copied = item(cli, "/backup/config")
    assert copied["type"] == "DocumentObject" and copied["attributes"]["name"] == "demo"
    assert item(cli, "/backup/config/servers")["type"] == "DocumentList"
    assert item(cli, "/backup/config/database")["attributes"]["port"] == 5432
    ok(cli, "set", "/backup/config/database", "port=1")  # a store item now: the file stays
    assert config.read_text() == SETTINGS


def test_copy_and_move_between_the_store_and_a_folder(cli, reports, config, tmp_path):
    ok(cli, "create", "/reports", "--type", "FileTree", "--attr", f"path={reports}")
    ok(cli, "create", "/store/inner", "--type", "Folder", "-p")
    ok(cli, "put", local(tmp_path, "h.txt", "hello\n"), "/store/inner/h.txt")
    ok(cli, "cp", "/store", "/reports/copy")
    assert (reports / "copy" / "inner" / "h.txt").read_text() == "hello\n"
    ok(cli, "mv", "/store/inner", "/reports/moved")
    assert (reports / "moved" / "h.txt").read_text() == "hello\n"
    assert cli("get", "/store/inner").code == 1
    ok(cli, "mv", "/config/database", "/store/database")  # out of the document: copied, then deleted
    assert "database" not in yaml.safe_load(config.read_text())
    assert item(cli, "/store/database")["attributes"]["host"] == "db.local"


def test_copy_and_move_a_single_file_out_of_a_folder(cli, reports):
    ok(cli, "create", "/reports", "--type", "FileTree", "--attr", f"path={reports}")
    ok(cli, "create", "/store", "--type", "Folder")
    ok(cli, "cp", "/reports/2026/q3.csv", "/store/q3.csv")
    assert ok(cli, "cat", "/store/q3.csv").out == "region,total\neu,42\n"
    ok(cli, "mv", "/reports/summary.csv", "/store/summary.csv")
    assert ok(cli, "cat", "/store/summary.csv").out == "year,total\n2026,42\n"
    assert not (reports / "summary.csv").exists()


def test_refused_copies_change_nothing(cli, reports, config, tmp_path):
    ok(cli, "create", "/reports", "--type", "FileTree", "--attr", f"path={reports}")
    ok(cli, "create", "/store/mixed", "--type", "Folder", "-p")
    ok(cli, "put", local(tmp_path, "a.txt", "a\n"), "/store/mixed/a.txt")
    ok(cli, "create", "/store/mixed/notes", "--type", "Document", "--attr", "title=T")
    before = _snapshot(reports)
    r = cli("cp", "/store/mixed", "/reports/mixed")
    assert r.code == 1 and "attributes" in r.err and r.err.count("\n") == 1
    assert _snapshot(reports) == before
    r = cli("cp", "/store/mixed/a.txt", "/config/a")
    assert r.code == 1 and "file content" in r.err
    assert config.read_text() == SETTINGS
    r = cli("mv", "/store/mixed", "/config/mixed")
    assert r.code == 1 and config.read_text() == SETTINGS
    assert ok(cli, "ls", "/store/mixed").out == "a.txt\nnotes\n"
