import json
from pathlib import Path

import pytest

from realnet.core.errors import ValidationError
from realnet.core.loader import layer_of, load_plan, packaged_directory

CORE = {
    "types": [
        {"name": "Item", "abstract": True, "children": []},
        {"name": "Folder", "base": "Item", "children": ["*"]},
    ],
    "items": [{"path": "/apps", "type": "Folder"}],
}


def write(folder: Path, name: str, doc) -> None:
    folder.mkdir(exist_ok=True)
    text = doc if isinstance(doc, str) else json.dumps(doc)
    (folder / name).write_text(text, encoding="utf-8")


def test_layer_order():
    names = ["access.json", "apps.json", "k8s_apps.json", "files.json", "views.json", "core.json"]
    assert sorted(names, key=lambda n: (layer_of(n), n)) == [
        "core.json", "views.json", "files.json", "k8s_apps.json", "apps.json", "access.json"
    ]


def test_packaged_files_load_cleanly():
    plan = load_plan([packaged_directory()])
    names = {t.name for t in plan.types}
    assert {"Folder", "Document", "File", "Link", "App", "View", "Form", "Control", "Type"} <= names
    assert plan.files[0] == "core.json" and plan.files[-1] == "access.json"
    assert "/apps" in {i.path for i in plan.items}


def test_duplicate_type_names_are_refused(tmp_path):
    write(tmp_path, "core.json", CORE)
    write(tmp_path, "extra.json", {"types": [{"name": "Folder", "base": "Item"}]})
    with pytest.raises(ValidationError,
                       match=r"extra.json: type Folder: duplicate type name \(already defined in core.json\)"):
        load_plan([tmp_path])


def test_resource_types_cannot_reference_app_types(tmp_path):
    write(tmp_path, "core.json", CORE)
    write(tmp_path, "files.json", {"types": [{"name": "Disk", "base": "Item", "children": ["Viewer"]}]})
    write(tmp_path, "files_apps.json", {"types": [{"name": "Viewer", "base": "Item"}]})
    with pytest.raises(ValidationError, match="files.json: type Disk: child type 'Viewer' belongs to a later layer"):
        load_plan([tmp_path])


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"types": [{"name": "bad name"}]}, r"extra.json#types\[0\]: type 'bad name': 'name' must match"),
        ({"types": [{"name": "X", "base": "Missing"}]}, "extra.json: type X: base 'Missing' is not a defined type"),
        ({"types": [{"name": "X", "attributes": {"a": {"kind": "colour"}}}]}, "attribute 'a' has kind 'colour'"),
        ({"types": [{"name": "X", "attributes": {"a": {"kind": "int", "default": "x"}}}]}, "expects an integer"),
        ({"types": [{"name": "X", "colour": 1}]}, "unknown field"),
        ({"items": [{"path": "/nowhere/x", "type": "Folder"}]}, "parent /nowhere is not declared before it"),
        ({"items": [{"path": "/y", "type": "Item"}]}, "abstract"),
        ({"items": [{"path": "/y", "type": "Nope"}]}, "unknown type 'Nope'"),
    ],
)
def test_errors_name_file_and_entry(tmp_path, doc, message):
    write(tmp_path, "core.json", CORE)
    write(tmp_path, "extra.json", doc)
    with pytest.raises(ValidationError, match=message):
        load_plan([tmp_path])


def test_malformed_json_names_the_file(tmp_path):
    write(tmp_path, "core.json", '{"types": [')
    with pytest.raises(ValidationError, match="core.json: not valid JSON"):
        load_plan([tmp_path])


def test_every_problem_is_collected(tmp_path):
    write(tmp_path, "core.json", CORE)
    write(tmp_path, "extra.json", {"types": [{"name": "A", "base": "Nope1"}, {"name": "B", "base": "Nope2"}]})
    with pytest.raises(ValidationError) as info:
        load_plan([tmp_path])
    assert "and 1 more" in str(info.value)
    assert len(info.value.problems) == 2
