"""Mounts given bad input: one line naming what was wrong, exit code 1, no traceback, and
neither the store nor any file on disk changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from clikit import one_line_error, realnet_without_override

SETTINGS = """\
# kept as it is
database:
  host: db.local
  port: 5432
servers:
  - name: one
"""

XML = '<?xml version="1.0"?>\n<config>\n  <database host="db.local"><port>5432</port></database>\n</config>\n'

BILLION_LAUGHS = """\
<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>
"""
EXTERNAL_ENTITY = '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<r>&x;</r>\n'
EXTERNAL_PARAMETER = '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n<r/>\n'
PASSWORD = "averyl0ngpassword"




@pytest.fixture
def config(tmp_path, cli) -> Path:
    f = tmp_path / "settings.yaml"
    f.write_text(SETTINGS)
    assert cli("create", "/config", "--type", "YamlDocument", "--attr", f"path={f}").code == 0
    return f


@pytest.fixture
def store(cli, config):
    """The state of the store and of the mounted file, to compare after a refusal."""

    def fingerprint() -> tuple[str, str, bytes]:
        exported = cli("export", "/")
        assert exported.code == 0, exported.err
        return cli("ls", "/").out, exported.out, config.read_bytes()

    return fingerprint


# (type, file name, content: text, a folder (None) or nothing (False), message fragments)
MOUNT_CASES = [
    ("YamlDocument", "bad.yaml", "a: 1\nb: [1, 2\nc: 3\n", ["bad.yaml: not valid YAML", "(line 3, column 2)"]),
    ("YamlDocument", "tabs.yaml", "a:\n\tb: 1\n", ["tabs.yaml: not valid YAML", "(line 2, column 1)"]),
    ("JsonDocument", "bad.json", '{"a": 1,\n "b": }\n', ["bad.json: not valid JSON", "(line 2, column 7)"]),
    ("XmlDocument", "bad.xml", "<a><b>1</b>\n<c>\n</a>\n", ["bad.xml: not valid XML", "(line 3, column"]),
    ("XmlDocument", "laughs.xml", BILLION_LAUGHS, ["laughs.xml: refused", "entities"]),
    ("XmlDocument", "xxe.xml", EXTERNAL_ENTITY, ["xxe.xml: refused"]),
    ("XmlDocument", "param.xml", EXTERNAL_PARAMETER, ["param.xml: refused"]),
    ("JsonDocument", "scalar.json", '"just text"\n', ["scalar.json", "an object or a list at the top"]),
    ("YamlDocument", "missing.yaml", False, ["missing.yaml: no such file"]),
    ("YamlDocument", "folder", None, ["is a folder", "FileTree"]),
    ("FileTree", "file.txt", "text\n", ["file.txt is a file", "a FileTree mounts a folder"]),
    ("FileTree", "gone", False, ["gone: the mounted folder does not exist"]),
]


@pytest.mark.parametrize(("type_name", "name", "content", "fragments"), MOUNT_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in MOUNT_CASES])
def test_a_bad_source_is_refused_at_mount_time(cli, store, tmp_path, type_name, name, content, fragments):
    source = tmp_path / name
    if content is None:
        source.mkdir()
    elif content is not False:
        source.write_text(content)
    before = store()
    r = cli("create", "/bad", "--type", type_name, "--attr", f"path={source}")
    one_line_error(r, "/bad: attribute 'path'", *fragments)
    assert "lollol" not in r.err and "root:" not in r.err
    assert store() == before
    if isinstance(content, str):
        assert source.read_text() == content


def test_a_yaml_alias_bomb_is_refused_at_mount_time(cli, store, tmp_path):
    # The YAML twin of the billion laughs: 370 bytes whose aliases expand to 10 million values.
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    before = store()
    one_line_error(cli("create", "/bomb", "--type", "YamlDocument", "--attr", f"path={bomb}"), "bomb.yaml")
    assert store() == before


@pytest.mark.parametrize(("attrs", "fragments"), [
    (["path=settings.yaml"], ["expects an absolute path", "'settings.yaml'"]),
    (["path=./settings.yaml"], ["expects an absolute path"]),
    ([], ["attribute 'path' is required"]),
    (["path={config}", "name=x"], ["only the mount's settings can be given"]),
    (["path={config}", "read_only=maybe"], ["read_only"]),
])
def test_bad_mount_settings_are_refused(cli, store, config, attrs, fragments):
    before = store()
    args = [a for attr in attrs for a in ("--attr", attr.format(config=config))]
    one_line_error(cli("create", "/bad", "--type", "YamlDocument", *args), "/bad", *fragments)
    assert store() == before


def test_a_file_that_turns_malformed_after_mounting(cli, config):
    config.write_text("database: [unclosed\n")
    for args in (("ls", "/config"), ("get", "/config/database"), ("tree", "/config")):
        one_line_error(cli(*args), str(config), "not valid YAML", "line")
    one_line_error(cli("set", "/config/database", "port=1"), str(config))
    assert config.read_text() == "database: [unclosed\n"
    assert cli("ls", "/").code == 0  # the rest of the tree still reads
    assert cli("rm", "/config").code == 0
    assert "config" not in cli("ls", "/").out.split()
    assert config.read_text() == "database: [unclosed\n"


def test_a_file_deleted_after_mounting(cli, config):
    config.unlink()
    one_line_error(cli("ls", "/config"), str(config), "no such file")
    one_line_error(cli("get", "/config/database/host"))
    assert not config.exists()  # nothing wrote a new one
    assert cli("rm", "/config").code == 0
    assert "config" not in cli("ls", "/").out.split()


def test_a_folder_deleted_after_mounting(cli, tmp_path):
    folder = tmp_path / "tree"
    (folder / "sub").mkdir(parents=True)
    assert cli("create", "/tree", "--type", "FileTree", "--attr", f"path={folder}").code == 0
    shutil.rmtree(folder)
    one_line_error(cli("ls", "/tree"), str(folder), "does not exist")
    one_line_error(cli("ls", "/tree/sub"))
    assert cli("rm", "/tree").code == 0 and not folder.exists()


@pytest.fixture
def xml_doc(cli, tmp_path) -> Path:
    f = tmp_path / "config.xml"
    f.write_text(XML)
    assert cli("create", "/x", "--type", "XmlDocument", "--attr", f"path={f}").code == 0
    return f


@pytest.mark.parametrize(("args", "fragments"), [
    (("create", "/x/1bad", "--type", "DocumentObject"), ["/x/1bad", "'1bad' is not a valid XML name"]),
    (("create", "/x/a b", "--type", "DocumentObject"), ["'a b' is not a valid XML name"]),
    (("create", "/x/ok", "--type", "DocumentObject", "--attr", "bad name=1"), ["'bad name' is not a valid XML"]),
    (("set", "/x/database", "a b=1"), ["/x/database", "'a b' is not a valid XML name"]),
    (("set", "/x/database", "@1x=1"), ["'1x' is not a valid XML name"]),
    (("set", "/x", "a:b:c=1"), ["'a:b:c' is not a valid XML name"]),
])
def test_names_xml_cannot_hold_are_refused(cli, xml_doc, args, fragments):
    one_line_error(cli(*args), *fragments)
    assert xml_doc.read_text() == XML
    assert cli("ls", "/x").out == "database\n"


@pytest.mark.parametrize(("args", "fragments"), [
    (("create", "/config/f", "--type", "Folder"), ["/config/f", "cannot hold a Folder"]),
    (("create", "/config/database/d", "--type", "Document", "--attr", "title=t"), ["Document"]),
    (("create", "/config/servers/5", "--type", "DocumentObject"), ["the next one is 1"]),
    (("create", "/config/database", "--type", "DocumentObject"), ["/config/database", "already exists"]),
    (("set", "/config", "servers=1"), ["'servers' is a child here"]),
    (("set", "/config/database", 'nested={"a": 1}'), ["'nested'", "create it as an item"]),
    (("set", "/config/servers/7", "name=x"), ["/config/servers/7: no such item"]),
    (("rm", "/config/servers"), ["/config/servers", "use -r"]),
    (("mv", "/config/database", "/config/servers/0"), ["/config/servers/0/database", "already exists"]),
])
def test_bad_changes_inside_a_document_change_nothing(cli, store, args, fragments):
    cli("create", "/config/servers/0/database", "--type", "DocumentObject")  # so that mv collides
    before = store()
    one_line_error(cli(*args), *fragments)
    assert store() == before


def test_only_admins_mount(cli, store, config, tmp_path):
    assert cli("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n").code == 0
    assert cli("acl", "grant", "/config", "alice", "read,write").code == 0
    before = store()
    one_line_error(cli("--as", "alice", "create", "/home/alice/m", "--type", "YamlDocument",
                       "--attr", f"path={config}"), "/home/alice/m", "only members of 'admins'")
    one_line_error(cli("--as", "alice", "set", "/config", "path=/etc/passwd"), "/config",
                   "only members of 'admins'")
    one_line_error(cli("--as", "alice", "set", "/config", "read_only=true"), "only members of 'admins'")
    assert store() == before
    assert cli("ls", "/home/alice").out == ""
    assert cli("--as", "alice", "set", "/config/database", "port=5433").code == 0  # values are hers to change
    assert "port: 5433" in config.read_text()


def test_a_change_racing_another_writer_is_refused(cli, config, monkeypatch):
    from realnet.providers.documents.codecs import YamlCodec

    theirs = SETTINGS.replace("5432", "6000")
    real_dump = YamlCodec.dump

    def dump_while_someone_writes(self, document, original):
        config.write_text(theirs)  # the other writer lands between our read and our write
        return real_dump(self, document, original)

    monkeypatch.setattr(YamlCodec, "dump", dump_while_someone_writes)
    one_line_error(cli("set", "/config/database", "port=5433"), "changed on disk")
    assert config.read_text() == theirs
    assert not [p for p in config.parent.iterdir() if p.name.endswith(".realnet-tmp")]


# -- read-only mounts -----------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture
def read_only(cli, tmp_path):
    """A read-only YAML document at /ro, a read-only folder at /reports, and a store folder."""
    doc = tmp_path / "ro.yaml"
    doc.write_text(SETTINGS)
    folder = tmp_path / "srv"
    (folder / "2026").mkdir(parents=True)
    (folder / "2026" / "q3.csv").write_text("eu,42\n")
    (folder / "summary.csv").write_text("2026,42\n")
    data = tmp_path / "a.csv"
    data.write_text("a\n")
    for args in (("create", "/ro", "--type", "YamlDocument", "--attr", f"path={doc}", "--attr", "read_only=true"),
                 ("create", "/reports", "--type", "FileTree", "--attr", f"path={folder}",
                  "--attr", "read_only=true"),
                 ("create", "/store/empty", "--type", "Folder", "-p"), ("put", str(data), "/store/a.csv")):
        assert cli(*args).code == 0, args
    return lambda: (doc.read_bytes(), snapshot(folder), cli("ls", "/store").out, cli("ls", "/").out)


READ_ONLY_CASES = [
    (("set", "/ro/database", "port=1"), "/ro/database"),
    (("set", "/ro", "name=x"), "/ro"),
    (("create", "/ro/new", "--type", "DocumentObject"), "/ro/new"),
    (("rm", "-r", "-f", "/ro/servers"), "/ro/servers"),
    (("mv", "/ro/database", "/ro/db"), "/ro/d"),
    (("cp", "/store/empty", "/ro/empty"), "/ro/empty"),
    (("mv", "/ro/database", "/store/database"), "/ro/database"),  # moved out: the source would go
    (("put", "{data}", "/reports/x.csv"), "/reports/x.csv"),
    (("put", "{data}", "/reports/summary.csv"), "/reports/summary.csv"),
    (("create", "/reports/2027", "--type", "Folder"), "/reports/2027"),
    (("rm", "/reports/summary.csv"), "/reports/summary.csv"),
    (("rm", "-r", "-f", "/reports/2026"), "/reports/2026"),
    (("mv", "/reports/summary.csv", "/reports/s.csv"), "/reports/s"),
    (("cp", "/store/a.csv", "/reports/a.csv"), "/reports/a.csv"),
    (("cp", "/reports/2026", "/reports/copy"), "/reports/copy"),
    (("mv", "/reports/2026", "/store/2026"), "/reports/2026"),
]


@pytest.mark.parametrize(("args", "named"), READ_ONLY_CASES, ids=[" ".join(c[0][:2]) for c in READ_ONLY_CASES])
def test_read_only_mounts_refuse_every_write(cli, read_only, tmp_path, args, named):
    before = read_only()
    one_line_error(cli(*(a.format(data=tmp_path / "a.csv") for a in args)), named, "read-only")
    assert read_only() == before


# -- permission denied on disk ----------------------------------------------------------------
#
def assert_refused(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def test_unreadable_file(cli, config, tmp_path):
    locked = tmp_path / "locked.yaml"
    locked.write_text(SETTINGS)
    locked.chmod(0)
    assert_refused(realnet_without_override("create", "/locked", "--type", "YamlDocument", "--attr",
                                            f"path={locked}"), str(locked), "permission denied")
    assert "locked" not in cli("ls", "/").out.split()
    config.chmod(0)
    assert_refused(realnet_without_override("ls", "/config"), str(config), "permission denied")
    assert_refused(realnet_without_override("set", "/config/database", "port=1"), "permission denied")
    config.chmod(0o644)
    assert config.read_text() == SETTINGS


def test_folder_that_cannot_be_written_beside(cli, config):
    folder = config.parent
    mode = folder.stat().st_mode
    folder.chmod(0o555)
    try:
        assert_refused(realnet_without_override("set", "/config/database", "port=1"), str(config),
                       "permission denied")
        assert not [p for p in folder.iterdir() if p.name.endswith(".realnet-tmp")]
    finally:
        folder.chmod(mode)
    assert config.read_text() == SETTINGS


def test_unreadable_folder_in_a_filetree(cli, tmp_path):
    root = tmp_path / "tree"
    (root / "closed").mkdir(parents=True)
    (root / "closed" / "a.txt").write_text("a\n")
    assert cli("create", "/tree", "--type", "FileTree", "--attr", f"path={root}").code == 0
    (root / "closed").chmod(0)
    try:
        assert_refused(realnet_without_override("ls", "/tree/closed"), "closed", "permission denied")
        assert_refused(realnet_without_override("cat", "/tree/closed/a.txt"), "permission denied")
    finally:
        (root / "closed").chmod(0o755)


def test_mounts_outside_realnet_mount_paths_are_refused(cli, tmp_path, monkeypatch):
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    (allowed / "a.yaml").write_text("a: 1\n")
    (elsewhere / "b.yaml").write_text("b: 1\n")
    (allowed / "escape").symlink_to(elsewhere)  # a link inside does not lead out
    monkeypatch.setenv("REALNET_MOUNT_PATHS", f"{tmp_path / 'none'}:{allowed}")
    assert cli("create", "/a", "--type", "YamlDocument", "--attr", f"path={allowed / 'a.yaml'}").code == 0
    assert cli("get", "/a/a").out == "1\n"
    for path, kind in ((elsewhere / "b.yaml", "YamlDocument"), (allowed / "escape" / "b.yaml", "YamlDocument"),
                       (elsewhere, "FileTree"), (Path("/etc"), "FileTree")):
        refused = cli("create", "/b", "--type", kind, "--attr", f"path={path}")
        one_line_error(refused, f"/b: attribute 'path': {path} is outside REALNET_MOUNT_PATHS "
                                f"({tmp_path / 'none'}:{allowed})")
        assert cli("get", "/b").code == 1
    # Tightened later: a mount made before cannot be used, and can still be removed.
    monkeypatch.setenv("REALNET_MOUNT_PATHS", "")
    one_line_error(cli("get", "/a/a"), "is outside REALNET_MOUNT_PATHS (empty: no file or folder mounts)")
    assert cli("rm", "/a").code == 0
    assert (allowed / "a.yaml").read_text() == "a: 1\n"


def test_a_relative_realnet_mount_path_is_one_line(cli, monkeypatch):
    monkeypatch.setenv("REALNET_MOUNT_PATHS", "/srv:data")
    one_line_error(cli("ls", "/"), "REALNET_MOUNT_PATHS='/srv:data': expected absolute folders separated by ':', "
                                   "got 'data'")


def test_a_long_lived_process_does_not_follow_a_link_swapped_in_out_of_the_mount_paths(
        realnet_home, tmp_path, monkeypatch):
    from realnet.app import open_context
    from realnet.config import load_settings
    from realnet.core.errors import RealnetError

    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    (allowed / "c.yaml").write_text("ok: 1\n")
    (elsewhere / "s.yaml").write_text("secret: hunter2\n")
    monkeypatch.setenv("REALNET_MOUNT_PATHS", str(allowed))
    context = open_context(load_settings())  # one process, as the shell and the server are
    try:
        context.create("/c", "YamlDocument", {"path": str(allowed / "c.yaml")})
        assert context.get("/c").attributes["ok"] == 1
        (allowed / "c.yaml.new").symlink_to(elsewhere / "s.yaml")
        os.replace(allowed / "c.yaml.new", allowed / "c.yaml")
        with pytest.raises(RealnetError, match="is outside REALNET_MOUNT_PATHS"):
            context.get("/c/secret")
        with pytest.raises(RealnetError, match="is outside REALNET_MOUNT_PATHS"):
            context.update("/c", {"secret": "overwritten"})
        assert (elsewhere / "s.yaml").read_text() == "secret: hunter2\n"
        # A link that stays within the allowed folders (a ConfigMap's) is followed.
        (allowed / "v2.yaml").write_text("ok: 2\n")
        (allowed / "c.yaml.new").symlink_to(allowed / "v2.yaml")
        os.replace(allowed / "c.yaml.new", allowed / "c.yaml")
        assert context.get("/c").attributes["ok"] == 2
    finally:
        context.provider.close()
