"""Mounted JSON, YAML and XML documents read and written back faithfully: values nobody
changed stay as they were (big integers, YAML's plain scalars, XML namespaces, BOMs, CRLF
line breaks), what the format cannot hold is refused in one line, and a document nested
deeper than the reader takes is refused in one line naming the file."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from clikit import ok, one_line_error

from realnet.core.errors import ValidationError
from realnet.core.item import ItemDraft
from realnet.providers import documents
from realnet.providers.documents.codecs import JsonCodec


def attributes(cli, path: str) -> dict:
    return json.loads(ok(cli, "get", path, "-o", "json").out)["attributes"]


def changes(before: str, after: str) -> list[str]:
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""))[2:]
    return [line for line in diff if not line.startswith("@@")]


def mount(cli, tmp_path: Path, name: str, content: str | bytes, kind: str) -> Path:
    f = tmp_path / name
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    ok(cli, "create", f"/{f.stem}", "--type", kind, "--attr", f"path={f}")
    return f


# -- 6: JSON numbers --------------------------------------------------------------------------
def test_a_big_integer_is_read_exactly_and_kept_when_another_key_changes(cli, tmp_path):
    f = mount(cli, tmp_path, "ids.json",
              '{\n  "id": 123456789012345678901234567890,\n  "neg": -98765432109876543210,\n'
              '  "o": {"x": 1}\n}\n', "JsonDocument")
    assert ok(cli, "get", "/ids/id").out.strip() == "123456789012345678901234567890"
    ok(cli, "set", "/ids/o", "x=2")
    assert f.read_text() == ('{\n  "id": 123456789012345678901234567890,\n  "neg": -98765432109876543210,\n'
                             '  "o": {"x": 2}\n}\n')


def test_nan_and_infinity_are_never_written_into_a_json_document(cli, context, tmp_path):
    f = mount(cli, tmp_path, "n.json", '{\n  "o": {"x": 1}\n}\n', "JsonDocument")
    before = f.read_bytes()
    # Below the command line's own checks: the document provider refuses them itself.
    for value in (float("nan"), float("inf"), [1, float("-inf")]):
        with pytest.raises(ValidationError, match=r"^/n/o: attribute 'y': .*not a JSON number"):
            context.provider.update("/n/o", {"x": 1, "y": value})
    draft = ItemDraft(path="/n/p", type="DocumentObject", owner="admin", attributes={"z": float("nan")})
    with pytest.raises(ValidationError, match=r"^/n/p: attribute 'z': .*not a JSON number"):
        context.provider.create(draft)
    assert f.read_bytes() == before
    for text in ("NaN", "Infinity", "1e400"):  # and from the command line, one line
        r = cli("set", "/n/o", f"y={text}")
        one_line_error(r, "/n/o", "'y'")
    assert f.read_bytes() == before
    assert ok(cli, "get", "/n/o/x").out.strip() == "1"


def test_the_json_writer_refuses_a_non_finite_number_rather_than_write_it():
    codec = JsonCodec()
    for original in (b'{"a": 1}\n', b'{\n  "a": [1, 2]\n}\n'):
        document = codec.load(original, "f.json")
        document["b"] = float("nan")
        with pytest.raises(ValidationError, match="cannot be written as JSON"):
            codec.dump(document, original)


# -- 13: nesting ---------------------------------------------------------------------------
DEEP = {
    "JsonDocument": ("deep.json", '{"a": ' + "[" * 500 + "]" * 500 + "}", 400),
    "YamlDocument": ("deep.yaml", "a: " + "[" * 900 + "]" * 900 + "\n", 200),
    "XmlDocument": ("deep.xml", "<r>" + "<a>" * 1500 + "x" + "</a>" * 1500 + "</r>", 400),
}


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_a_document_nested_too_deeply_is_refused_in_one_line(cli, tmp_path, kind):
    name, text, limit = DEEP[kind]
    f = tmp_path / name
    f.write_text(text)
    r = cli("create", "/deep", "--type", kind, "--attr", f"path={f}")
    one_line_error(r, str(f), f"nested too deeply (more than {limit} levels)")
    # Mounted while it was fine, and deepened afterwards: each command refuses in one line.
    shallow = {"JsonDocument": '{"a": 1}', "YamlDocument": "a: 1\n", "XmlDocument": "<r><a>1</a></r>"}
    f.write_text(shallow[kind])
    ok(cli, "create", "/deep", "--type", kind, "--attr", f"path={f}")
    f.write_text(text)
    for args in (("ls", "/deep"), ("get", "/deep/a"), ("set", "/deep", "b=1"), ("find", "/deep")):
        one_line_error(cli(*args), str(f), "nested too deeply")
    assert f.read_text() == text


@pytest.mark.parametrize(("kind", "name", "text"), [
    ("JsonDocument", "ok.json", '{"a": ' + "[" * 300 + "]" * 300 + ', "o": ' + '{"x": ' * 300 + "1"
     + "}" * 300 + "}"),
    ("YamlDocument", "ok.yaml", "a: " + "[" * 150 + "]" * 150 + "\n"),
    ("XmlDocument", "ok.xml", "<r>" + "<a>" * 300 + "x" + "</a>" * 300 + "</r>"),
])
def test_a_document_nested_within_the_limit_is_read_and_written(cli, tmp_path, kind, name, text):
    f = mount(cli, tmp_path, name, text, kind)
    ok(cli, "set", f"/{f.stem}", "b=1")
    assert attributes(cli, f"/{f.stem}")["b"] in (1, "1")


# -- 10, 11: YAML read as it is written ---------------------------------------------------------
PLAIN = "flag: yes\ncount: 1e3\nmode: 0755\noctal: 0o755\ntime: 1:20\ndb:\n  port: 1\n"


def test_yaml_values_read_the_same_before_and_after_a_write_in_the_same_process(cli, tmp_path):
    f = mount(cli, tmp_path, "plain.yaml", PLAIN, "YamlDocument")
    before = attributes(cli, "/plain")
    # YAML 1.2, as the writer (ruamel) reads and writes it.
    assert {k: before[k] for k in ("flag", "count", "mode", "octal", "time")} == {
        "flag": "yes", "count": 1000.0, "mode": 755, "octal": 493, "time": "1:20"}
    ok(cli, "set", "/plain/db", "port=2")  # the in-process CLI keeps the read cache, as the shell does
    assert attributes(cli, "/plain") == before
    documents._CACHE.clear()  # as a new process reads it
    assert attributes(cli, "/plain") == before
    assert f.read_text() == PLAIN.replace("port: 1", "port: 2")


def test_a_yaml_1_1_file_is_read_and_written_as_yaml_1_1(cli, tmp_path):
    f = mount(cli, tmp_path, "old.yaml", "%YAML 1.1\n---\nflag: yes\nmode: 0755\non: 1\n", "YamlDocument")
    before = attributes(cli, "/old")
    assert before == {"flag": True, "mode": 493, "true": 1, "path": str(f), "read_only": False}
    ok(cli, "set", "/old", "true=2")
    assert attributes(cli, "/old") == {**before, "true": 2}
    documents._CACHE.clear()
    assert attributes(cli, "/old") == {**before, "true": 2}
    assert f.read_text().startswith("%YAML 1.1\n---\n")


def test_a_yaml_key_such_as_on_is_shown_by_its_name_and_can_be_changed_and_removed(cli, tmp_path):
    f = mount(cli, tmp_path, "wf.yaml", "name: CI\non:\n  push:\n    branches: [main]\nyes: 1\n",
              "YamlDocument")
    assert ok(cli, "ls", "/wf").out.split() == ["on"]
    assert attributes(cli, "/wf")["yes"] == 1
    assert json.loads(ok(cli, "get", "/wf/on/push/branches").out) == ["main"]
    ok(cli, "set", "/wf/on/push", 'branches=["dev"]')
    ok(cli, "set", "/wf", "yes=2")
    assert f.read_text() == "name: CI\non:\n  push:\n    branches:\n    - dev\nyes: 2\n"
    ok(cli, "rm", "-r", "-f", "/wf/on")
    assert f.read_text() == "name: CI\nyes: 2\n"


# -- 14: keys that cannot be attribute names -------------------------------------------------
def test_a_key_that_cannot_be_an_attribute_name_does_not_block_other_changes(cli, context, tmp_path):
    f = mount(cli, tmp_path, "keys.json", '{\n  "o": {"": "e", "tab\\there": 2, "x": 1}\n}\n',
              "JsonDocument")
    ok(cli, "set", "/keys/o", "x=2")
    ok(cli, "set", "/keys/o", "--unset", "x")
    assert json.loads(f.read_text()) == {"o": {"": "e", "tab\there": 2}}
    # What a change starts from leaves them out, so that the checks of the others pass.
    assert context.provider.get_for_update("/keys/o").attributes == {}
    assert context.provider.get("/keys/o").attributes == {"": "e", "tab\there": 2}


# -- 12, 17: XML --------------------------------------------------------------------------------
POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <version>1.0</version>
  <name>demo</name>
  <build xmlns:m="urn:example:m" m:id="a">
    <m:plugin>one</m:plugin>
  </build>
</project>
"""
MAVEN = "{http://maven.apache.org/POM/4.0.0}"
BUILD = "/pom/{http:%2F%2Fmaven.apache.org%2FPOM%2F4.0.0}build"  # '/' in a name is escaped


def test_xml_namespaces_are_written_back_with_the_files_own_prefixes(cli, tmp_path):
    f = mount(cli, tmp_path, "pom.xml", POM, "XmlDocument")
    ok(cli, "set", "/pom", f"{MAVEN}version=2.0")
    assert changes(POM, f.read_text()) == ["-  <version>1.0</version>", "+  <version>2.0</version>"]
    ok(cli, "set", BUILD, "{urn:example:m}plugin=two")
    assert attributes(cli, BUILD) == {"@{urn:example:m}id": "a", "{urn:example:m}plugin": "two"}
    assert changes(POM, f.read_text()) == [
        "-  <version>1.0</version>", "+  <version>2.0</version>",
        "-    <m:plugin>one</m:plugin>", "+    <m:plugin>two</m:plugin>"]
    # An element of no namespace, and one of a namespace the file never declared, read back
    # under the names they were given.
    ok(cli, "set", "/pom", "plain=x", "{urn:other}o=y")
    values = attributes(cli, "/pom")
    assert values["plain"] == "x" and values["{urn:other}o"] == "y" and values[f"{MAVEN}version"] == "2.0"
    assert changes(POM, f.read_text())[-2:] == ['+  <plain xmlns="">x</plain>',
                                                '+  <ns0:o xmlns:ns0="urn:other">y</ns0:o>']


def test_xml_with_a_byte_order_mark_keeps_it_and_its_declaration(cli, tmp_path):
    original = b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<r>\n  <a>1</a>\n</r>\n'
    f = mount(cli, tmp_path, "bom.xml", original, "XmlDocument")
    ok(cli, "set", "/bom", "a=5")
    assert f.read_bytes() == original.replace(b"<a>1</a>", b"<a>5</a>")


# -- 18: line breaks ----------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "name", "text"), [
    ("YamlDocument", "crlf.yaml", "# c\r\na: 1\r\nb: 2\r\n"),
    ("XmlDocument", "crlf.xml", "<r>\r\n  <a>1</a>\r\n  <b>2</b>\r\n</r>\r\n"),
    ("JsonDocument", "crlf.json", '{\r\n  "a": 1,\r\n  "b": 2\r\n}\r\n'),
])
def test_a_file_with_crlf_line_breaks_keeps_them(cli, tmp_path, kind, name, text):
    f = mount(cli, tmp_path, name, text, kind)
    ok(cli, "set", f"/{f.stem}", "a=5")
    assert f.read_bytes() == text.replace("1", "5").encode()


# -- 21: re-pointing a broken mount ----------------------------------------------------------
def test_a_mount_whose_file_became_malformed_can_be_pointed_at_another_file(cli, tmp_path):
    broken, good = tmp_path / "m.json", tmp_path / "good.json"
    broken.write_text('{"a": 1}\n')
    good.write_text('{"b": 2}\n')
    ok(cli, "create", "/m", "--type", "JsonDocument", "--attr", f"path={broken}")
    broken.write_text('{"a": 1\n')
    # A value of the document cannot be set while it cannot be read.
    one_line_error(cli("set", "/m", "a=2"), str(broken), "not valid JSON")
    ok(cli, "set", "/m", f"path={good}")
    assert ok(cli, "get", "/m/b").out.strip() == "2"
    assert broken.read_text() == '{"a": 1\n' and good.read_text() == '{"b": 2}\n'


# -- 20: YAML merge keys ----------------------------------------------------------------------
def test_unsetting_a_value_that_comes_through_a_merge_key_is_refused(cli, tmp_path):
    text = "defaults: &d\n  host: h\n  port: 1\nstaging:\n  <<: *d\n  port: 3\n"
    f = mount(cli, tmp_path, "merged.yaml", text, "YamlDocument")
    one_line_error(cli("set", "/merged/staging", "--unset", "host"), "/merged/staging", "'host'",
                   "merge key")
    assert f.read_text() == text
    assert ok(cli, "get", "/merged/staging/host").out.strip() == "h"
    ok(cli, "set", "/merged/staging", "host=s")  # a value of its own is set beside the merge
    assert f.read_text() == text + "  host: s\n"
