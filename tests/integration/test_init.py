"""`init`: validation before any write, and upgrades in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from realnet.core.context import Context
from realnet.core.errors import ValidationError
from realnet.core.loader import packaged_directory
from realnet.providers.sql.sqlite import SqliteProvider
from realnet.resources import ResourceRegistry


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    folder = tmp_path / "init"
    shutil.copytree(packaged_directory(), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def open_tree(tmp_path: Path, folder: Path) -> Context:
    return Context(SqliteProvider(tmp_path / "s.db"), ResourceRegistry(), init_directories=[folder])


def edit(folder: Path, name: str, change) -> None:
    path = folder / name
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_init_upgrades_changed_types_in_place(tmp_path, definitions):
    tree = open_tree(tmp_path, definitions)
    tree.ensure_initialized()
    tree.create("/keep", "Document", {"title": "mine"})

    def add_attribute(doc):
        document = next(t for t in doc["types"] if t["name"] == "Document")
        document["attributes"]["summary"] = {"kind": "string"}
        doc["types"].append({"name": "Note", "base": "Document"})

    edit(definitions, "core.json", add_attribute)
    report = tree.init()
    assert (report.types_created, report.types_updated) == (1, 1)
    assert "summary" in tree.types.attributes("Document")
    assert tree.create("/n", "Note", {"title": "t", "summary": "s"}).type == "Note"
    assert tree.get("/keep").attributes["title"] == "mine"  # user data untouched
    again = tree.init()
    assert (again.types_created, again.types_updated, again.items_created) == (0, 0, 0)


def test_bad_definitions_write_nothing(tmp_path, definitions):
    tree = open_tree(tmp_path, definitions)
    tree.ensure_initialized()
    before = [(i.path, i.version) for i in tree.provider.walk("/")]

    def break_it(doc):
        doc["types"].append({"name": "Broken", "base": "Missing"})
        doc["types"][1]["description"] = "changed, but must not be written"

    edit(definitions, "views.json", break_it)
    with pytest.raises(ValidationError, match="views.json: type Broken: base 'Missing' is not a defined type"):
        tree.init()
    assert [(i.path, i.version) for i in tree.provider.walk("/")] == before
