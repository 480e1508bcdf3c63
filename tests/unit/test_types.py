import pytest

from realnet.core.errors import NotFound, ValidationError
from realnet.core.loader import parse_type
from realnet.core.types import TypeRegistry


@pytest.fixture
def registry():
    specs = [
        {"name": "Item", "abstract": True, "attributes": {"title": "string"}, "children": []},
        {"name": "Folder", "base": "Item", "children": ["*"]},
        {"name": "Box", "base": "Item", "children": ["Note"]},
        {
            "name": "Note",
            "base": "Item",
            "attributes": {
                "title": {"kind": "string", "required": True},
                "count": {"kind": "int", "default": 0},
                "ratio": "float",
                "done": "bool",
                "meta": "json",
                "when": "datetime",
                "level": {"kind": "enum", "values": ["low", "high"]},
                "link": "ref",
            },
        },
        {"name": "Memo", "base": "Note"},
    ]
    return TypeRegistry(parse_type(s, "test.json") for s in specs)


def test_inheritance_and_lineage(registry):
    assert registry.lineage("Memo") == ("Memo", "Note", "Item")
    assert registry.is_a("Memo", "Item")
    assert registry.subtypes("Note") == ["Memo", "Note"]
    assert registry.attributes("Memo")["title"].required is True


def test_children_rules(registry):
    registry.check_child("Folder", "Box", where="/f/b")
    registry.check_child("Box", "Memo", where="/b/m")  # a subtype of an allowed type
    with pytest.raises(ValidationError, match=r"/b/f: a Box cannot hold a Folder \(allowed: Note\)"):
        registry.check_child("Box", "Folder", where="/b/f")
    with pytest.raises(ValidationError, match="allowed: no children"):
        registry.check_child("Note", "Note", where="/n/n")


def test_validate_converts_command_line_text(registry):
    out = registry.validate(
        "Note",
        {"title": "t", "count": "3", "ratio": "0.5", "done": "yes", "meta": '{"a": 1}',
         "when": "2026-01-02T03:04:05", "level": "low", "link": "/x"},
        where="/n", from_text=True,
    )
    assert out == {"title": "t", "count": 3, "ratio": 0.5, "done": True, "meta": {"a": 1},
                   "when": "2026-01-02T03:04:05", "level": "low", "link": "/x"}


def test_validate_fills_defaults(registry):
    assert registry.validate("Note", {"title": "t"}, where="/n") == {"title": "t", "count": 0}


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({}, "/n: attribute 'title' is required for a Note"),
        ({"title": "t", "count": "three"}, "attribute 'count' expects an integer, got 'three'"),
        ({"title": "t", "done": "maybe"}, "attribute 'done' expects true or false"),
        ({"title": "t", "level": "mid"}, "attribute 'level' expects one of low, high"),
        ({"title": "t", "meta": "{bad"}, "attribute 'meta' expects JSON"),
        ({"title": "t", "when": "yesterday"}, "expects an ISO 8601 date-time"),
        ({"title": "t", "link": "rel"}, "attribute 'link' expects an absolute path"),
        ({"title": "t", "ratio": "nan"}, "expects a finite number"),
        ({"title": "t", "colour": "red"}, "type Note has no attribute 'colour'"),
        ({"title": "line\nbreak"}, "expects a single line"),
    ],
)
def test_validate_rejects(registry, attrs, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.validate("Note", attrs, where="/n", from_text=True)


def test_strict_kinds_from_data(registry):
    with pytest.raises(ValidationError, match="expects an integer"):
        registry.validate("Note", {"title": "t", "count": "3"}, where="/n", from_text=False)
    with pytest.raises(ValidationError, match="expects an integer"):
        registry.validate("Note", {"title": "t", "count": True}, where="/n")


def test_abstract_and_unknown(registry):
    with pytest.raises(ValidationError, match="abstract"):
        registry.check_creatable("Item", where="/i")
    with pytest.raises(NotFound, match="unknown type 'Nope'"):
        registry.check_creatable("Nope", where="/i")
