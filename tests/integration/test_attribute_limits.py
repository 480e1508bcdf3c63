"""What an attribute value, an item name and a type definition may be, checked when they
are written: each refusal is one line naming the item and the attribute, exit code 1,
no traceback, and the store exactly as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from realnet.core.errors import StoreError
from realnet.core.item import ItemDraft

JSON_TYPE = '{"name": "J", "base": "Item", "attributes": {"j": "json"}}'


@pytest.fixture
def snapshot(cli):
    """The whole store as an export, to show that a refusal changed nothing."""

    def take() -> str:
        result = cli("export", "/")
        assert result.code == 0, result.err
        return result.out

    return take


def refused(result, *fragments: str) -> None:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for fragment in fragments:
        assert fragment in result.err, result.err


def ok(result) -> None:
    assert result.code == 0, result.err


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def define(cli, name: str, definition: str) -> None:
    ok(cli("create", f"/types/{name}", "--type", "Type", "--attr", f"definition={definition}"))


def write_import(tmp_path, name: str, items: str) -> str:
    path = tmp_path / name
    path.write_text('{"format": "realnet-export", "version": 1, "root": "/n", "items": ' + items + "}")
    return str(path)


# -- finding 5: NaN, Infinity and numbers too large for a double ---------------------------------

@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "[1e999]", '{"a": [NaN]}'])
def test_json_attribute_without_nan_or_infinity(cli, snapshot, text):
    define(cli, "J", JSON_TYPE)
    ok(cli("create", "/keep", "--type", "J", "--attr", "j=[1]"))
    before = snapshot()
    refused(cli("create", "/j", "--type", "J", "--attr", f"j={text}"),
            "/j: attribute 'j' expects JSON without NaN or Infinity")
    refused(cli("set", "/keep", f"j={text}"), "/keep: attribute 'j' expects JSON without NaN or Infinity")
    assert snapshot() == before


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1e999"])
def test_open_attribute_without_nan_or_infinity(cli, snapshot, text):
    before = snapshot()
    refused(cli("create", "/o", "--type", "DocumentObject", "--attr", f"x={text}"),
            "/o: attribute 'x' expects JSON without NaN or Infinity")
    assert snapshot() == before


def test_import_of_nan_is_refused_in_one_line(cli, snapshot, tmp_path):
    define(cli, "J", JSON_TYPE)
    before = snapshot()
    file = write_import(tmp_path, "nan.json", '[{"path": ".", "type": "J", "attributes": {"j": NaN}}]')
    refused(cli("import", file, "/n"), "items[0] (.): attribute 'j' expects JSON without NaN or Infinity")
    assert snapshot() == before


def test_insert_many_translates_sqlite_errors(context):
    """What reaches SQLite unchecked fails as the store's error, as every other call does."""
    draft = ItemDraft(path="/bad", type="Folder", owner="admin", attributes={"x": float("nan")})
    with pytest.raises(StoreError, match="malformed JSON"):
        context.store.insert_many([draft])
    assert not context.store.exists("/bad")


# -- findings 2, 4b, 4c: how deeply JSON may nest ---------------------------------------------------

def test_json_nesting_is_limited_when_written(cli, snapshot):
    define(cli, "J", JSON_TYPE)
    ok(cli("create", "/f", "--type", "Folder"))
    ok(cli("create", "/f/fits", "--type", "J", "--attr", f"j={nested(32)}"))
    before = snapshot()
    for depth in (33, 975, 3000, 100_000):  # 3000 and more: too deep for json.loads itself
        refused(cli("create", "/f/deep", "--type", "J", "--attr", f"j={nested(depth)}"),
                "/f/deep: attribute 'j' expects JSON nested at most 32 levels deep")
        refused(cli("set", "/f/fits", f"j={nested(depth)}"),
                "/f/fits: attribute 'j' expects JSON nested at most 32 levels deep")
        refused(cli("create", "/f/o", "--type", "DocumentObject", "--attr", f"x={nested(depth)}"),
                "/f/o: attribute 'x' expects JSON nested at most 32 levels deep")
    assert snapshot() == before
    ok(cli("shell", "-c", "ls /f; find /; rm /f/fits"))


def test_deep_json_in_an_import_file(cli, snapshot, tmp_path):
    define(cli, "J", JSON_TYPE)
    before = snapshot()
    deep = write_import(tmp_path, "deep.json", nested(100_000))
    refused(cli("import", deep, "/x"), "deep.json: JSON nested too deeply to read")
    value = write_import(tmp_path, "value.json",
                         '[{"path": ".", "type": "J", "attributes": {"j": ' + nested(900) + "}}]")
    refused(cli("import", value, "/n"), "items[0] (.): attribute 'j' expects JSON nested at most 32 levels")
    assert snapshot() == before


def test_deep_yaml_in_an_import_file_is_refused_before_it_is_built(tmp_path):
    # libyaml's loader recurses in C: built, 30,000 levels overflowed the stack and the
    # process died of a segmentation fault. Run as a process of its own, as users do.
    deep = tmp_path / "deep.yaml"
    deep.write_text("format: realnet-export\nversion: 1\nitems: " + "[" * 30_000 + "]" * 30_000 + "\n")
    done = subprocess.run([sys.executable, "-m", "realnet", "import", str(deep), "/x"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr[-300:])
    # Newer libyaml builds stop at 1,000 levels themselves; either way one line, no crash.
    assert done.stderr in (f"realnet: {deep}: YAML nested more than 48 levels deep "
                           "(attribute values may nest at most 32)\n",
                           f"realnet: {deep}: malformed YAML at line 3, column 1007: "
                           "exceeded maximum nesting depth\n"), done.stderr
    shallower = tmp_path / "deeper-than-48.yaml"
    shallower.write_text("format: realnet-export\nversion: 1\nitems: " + "[" * 60 + "]" * 60 + "\n")
    done = subprocess.run([sys.executable, "-m", "realnet", "import", str(shallower), "/x"],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (1, f"realnet: {shallower}: YAML nested more than 48 levels "
                                                 "deep (attribute values may nest at most 32)\n")


# -- finding 4d: text that is not UTF-8 -----------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "/bad\udcff", "--type", "Folder"], "/bad\\xff: a name must be UTF-8 text (found the byte 0xff"),
        (["ls", "/bad\udcff"], "a name must be UTF-8 text"),
        (["create", "/ok", "--type", "Document", "--attr", "title=x\udcff"],
         "/ok: attribute 'title' must be UTF-8 text (found the byte 0xff"),
        (["create", "/ok", "--type", "Document", "--attr", "title=t", "--attr", "body=a\ud800b"],
         "/ok: attribute 'body' must be UTF-8 text (found a lone surrogate U+D800)"),
        (["create", "/o", "--type", "DocumentObject", "--attr", "x\udcff=1"],
         "attribute 'x\\xff': an attribute name must be non-empty UTF-8 text"),
        (["create", "/o", "--type", "DocumentObject", "--attr", 'x={"k": "\\ud800"}'],
         "/o: attribute 'x' must be UTF-8 text (found a lone surrogate U+D800)"),
    ],
)
def test_text_that_is_not_utf8_is_refused(cli, snapshot, args, message):
    before = snapshot()
    refused(cli(*args), message)
    assert snapshot() == before


def test_non_utf8_bytes_from_the_command_line_and_a_script(tmp_path):
    env = {**os.environ, "REALNET_HOME": str(tmp_path / "h")}
    run = [sys.executable, "-m", "realnet"]
    for done in (
        subprocess.run([*run, "create", b"/bad\xff", "--type", "Folder"], capture_output=True, env=env,
                       timeout=60),
        subprocess.run([*run, "shell"], input=b"create /bad\xff --type Folder\n", capture_output=True,
                       env=env, timeout=60),
    ):
        assert done.returncode == 1
        assert b"Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert b"/bad\\xff: a name must be UTF-8 text" in done.stderr


# -- finding 6: an attribute the type has dropped ---------------------------------------------------

def test_items_keep_an_attribute_their_type_dropped(cli):
    define(cli, "Note", '{"name": "Note", "base": "Item", "attributes": {"old": "string", "j": "json"}}')
    ok(cli("create", "/n", "--type", "Note", "--attr", "old=x", "--attr", 'j="text"'))
    ok(cli("set", "/types/Note", 'definition={"name": "Note", "base": "Item", "attributes": {"j": "json"}}'))
    ok(cli("set", "/n", "title=t"))
    attributes = json.loads(cli("get", "/n", "-o", "json").out)["attributes"]
    assert attributes == {"title": "t", "old": "x", "j": "text"}  # kept as they were
    refused(cli("set", "/n", "old=y"), "/n: type Note has no attribute 'old'")
    ok(cli("set", "/n", "--unset", "old"))
    assert "old" not in json.loads(cli("get", "/n", "-o", "json").out)["attributes"]
    refused(cli("set", "/n", "--unset", "old"), "/n: type Note has no attribute 'old'")


# -- finding 4a: a type items still use ---------------------------------------------------------------

def test_a_type_in_use_cannot_be_removed(cli, snapshot):
    define(cli, "Gadget", '{"name": "Gadget", "base": "Item"}')
    define(cli, "Sub", '{"name": "Sub", "base": "Gadget"}')
    ok(cli("create", "/g", "--type", "Gadget"))
    refused(cli("rm", "/types/Gadget"), "/types/Gadget: type Gadget is the base of type Sub")
    ok(cli("rm", "/types/Sub"))
    before = snapshot()
    refused(cli("rm", "/types/Gadget"), "/types/Gadget: type Gadget is used by items (first: /g)")
    refused(cli("mv", "/types/Gadget", "/gadget-type"), "/types/Gadget: type Gadget is used by items (first: /g)")
    assert snapshot() == before
    ok(cli("rm", "/g"))
    ok(cli("rm", "/types/Gadget"))


def test_an_item_whose_type_is_gone_answers_in_one_line(cli, context):
    define(cli, "Gadget", '{"name": "Gadget", "base": "Item"}')
    ok(cli("create", "/g", "--type", "Gadget", "--attr", "title=x"))
    # As a store written before types in use were kept has it.
    context.store.delete("/types/Gadget")
    context.store.bump_generation("types_generation")
    refused(cli("set", "/g", "title=y"), "/g: its type Gadget is no longer defined")
    refused(cli("shell", "-c", "set /g title=y"), "/g: its type Gadget is no longer defined")
    ok(cli("get", "/g"))
    ok(cli("ls", "-l", "/"))


# -- finding 4e: type definitions made at run time ---------------------------------------------------

@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ('{"name": "Ij", "base": "Item", "instances": [{"name": "sub", "type": "Nope"}]}',
         "/types/Ij instances[0] sub: unknown type 'Nope'"),
        ('{"name": "Ij", "base": "Item", "instances": [{"type": "Folder"}]}',
         "/types/Ij instances[0]: 'name' must be an item name"),
        ('{"name": "Ij", "base": "Item", "children": ["*"], "instances": [{"name": "m", "type": "Ij"}]}',
         "/types/Ij: its instances would hold one another without end (Ij → Ij)"),
        ('{"name": "Ij", "base": "Item", "children": ["*"], "instances": [{"name": "..", "type": "Folder"}]}',
         "/types/Ij instances[0]: '.' and '..' are not allowed as names"),
        ('{"name": "Ij", "base": "Item", "instances": [{"name": "x", "type": "Folder"}]}',
         "/types/Ij instances[0] x: a Ij cannot hold a Folder"),
        ('{"name": "Ij", "base": "Item", "children": ["*"], "instances": [{"name": "x", "type": "Item"}]}',
         "type Item is abstract and cannot be created"),
        ('{"name": "Ij", "base": "Item", "children": ["*"], "instances": [{"name": "d", "type": "Document"}]}',
         "/types/Ij instances[0] d: attribute 'title' is required for a Document"),
    ],
)
def test_runtime_types_are_checked_as_initialization_files_are(cli, snapshot, definition, message):
    before = snapshot()
    refused(cli("create", "/types/Ij", "--type", "Type", "--attr", f"definition={definition}"), message)
    assert snapshot() == before


def test_runtime_type_cycles_are_refused(cli, snapshot):
    define(cli, "Aa", '{"name": "Aa", "base": "Item"}')
    define(cli, "Bb", '{"name": "Bb", "base": "Aa"}')
    define(cli, "P", '{"name": "P", "base": "Item", "children": ["*"]}')
    define(cli, "Q", '{"name": "Q", "base": "Item", "children": ["*"], "instances": [{"name": "p", "type": "P"}]}')
    before = snapshot()
    refused(cli("set", "/types/Aa", 'definition={"name": "Aa", "base": "Bb"}'),
            "/types/Aa: inheritance cycle through 'base'")
    refused(cli("set", "/types/P", 'definition={"name": "P", "base": "Item", "children": ["*"], '
                                   '"instances": [{"name": "q", "type": "Q"}]}'),
            "/types/P: its instances would hold one another without end (P → Q → P)")
    refused(cli("set", "/types/P", 'definition={"name": "P", "base": "Item", "abstract": true}'),
            "/types/Q instances[0] p: type P is abstract and cannot be created")
    assert snapshot() == before
    ok(cli("create", "/q", "--type", "Q"))
    assert cli("ls", "/q").out.split() == ["p"]


def test_a_stored_definition_that_never_ends_is_refused_on_create(cli, context, snapshot):
    define(cli, "Loop", '{"name": "Loop", "base": "Item", "children": ["*"]}')
    # As a store written before definitions were checked has it.
    loop = {"name": "Loop", "base": "Item", "children": ["*"], "instances": [{"name": "again", "type": "Loop"}]}
    context.store.update("/types/Loop", {"definition": loop})
    context.store.bump_generation("types_generation")
    before = snapshot()
    refused(cli("create", "/l", "--type", "Loop"), "/l: the instances of type Loop would hold one another")
    assert snapshot() == before


# -- finding 10: imported times --------------------------------------------------------------------

def test_imported_times_must_be_iso_8601(cli, snapshot, tmp_path):
    before = snapshot()
    bad = write_import(tmp_path, "ts.json", '[{"path": ".", "type": "Folder"}, '
                                           '{"path": "c", "type": "Folder", "updated": "zzz"}]')
    refused(cli("import", bad, "/b"), "items[1] (c): 'updated' must be an ISO 8601 timestamp, got 'zzz'")
    assert snapshot() == before
    good = write_import(tmp_path, "good.json", '[{"path": ".", "type": "Folder"}, {"path": "c", "type": "Folder", '
                                               '"created": "2024-01-01", "updated": "2024-01-02T03:04:05+02:00"}]')
    ok(cli("import", good, "/b"))
    item = json.loads(cli("get", "/b/c", "-o", "json").out)
    # The one form the store compares and pages by as text.
    assert (item["created"], item["updated"]) == ("2024-01-01T00:00:00.000000Z", "2024-01-02T01:04:05.000000Z")
    ok(cli("ls", "/b", "--order", "-updated", "--limit", "1", "--all"))


# -- finding 12: int and ref kinds ---------------------------------------------------------------

@pytest.mark.parametrize("text", ["1_000", "٣", " 3", "3 ", "0x10", "+", ""])
def test_int_kind_takes_ascii_digits_only(cli, snapshot, text):
    define(cli, "Counter", '{"name": "Counter", "base": "Item", "attributes": {"n": "int"}}')
    before = snapshot()
    refused(cli("create", "/c", "--type", "Counter", "--attr", f"n={text}"), "/c: attribute 'n' expects an integer")
    assert snapshot() == before


def test_int_kind_takes_a_sign(cli):
    define(cli, "Counter", '{"name": "Counter", "base": "Item", "attributes": {"n": "int"}}')
    ok(cli("create", "/c", "--type", "Counter", "--attr", "n=-12"))
    ok(cli("set", "/c", "n=+7"))
    assert json.loads(cli("get", "/c", "-o", "json").out)["attributes"]["n"] == 7


def test_ref_kind_stores_normalised_paths(cli):
    define(cli, "Pointer", '{"name": "Pointer", "base": "Item", "attributes": {"to": "ref"}}')
    ok(cli("create", "/p", "--type", "Pointer", "--attr", "to=/a/../b/./c//"))
    assert cli("get", "/p/to").out.strip() == "/b/c"
    ok(cli("set", "/p", "to=/.."))
    assert cli("get", "/p/to").out.strip() == "/"
    refused(cli("set", "/p", "to=/a/\tb"), "/p: attribute 'to'", "control characters")
