"""Writing a JSON document back keeps its indentation and what it had on one line."""

from __future__ import annotations

import difflib
import json

from realnet.providers.documents.codecs import JsonCodec
from realnet.providers.documents.json_layout import JSON_LAYOUT_LIMIT, one_line_containers

CODEC = JsonCodec()

PACKAGE = """\
{
  "name": "app",
  "files": ["dist", "lib"],
  "scripts": {"build": "tsc", "test": "jest"},
  "deps": {
    "a": "^1.0.0",
    "nested": [{"x": 1}, {"y": [1, 2]}]
  },
  "empty": [],
  "tricky": "a [ {string} ] with \\" and \\\\",
  "list": [
    1,
    2
  ]
}
"""


def edit(original: str, change) -> str:
    document = CODEC.load(original.encode(), "f.json")
    change(document)
    return CODEC.dump(document, original.encode()).decode()


def changes(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
    return [line for line in list(diff)[2:] if not line.startswith("@@")]


def test_the_containers_on_one_line_are_found_by_their_paths():
    assert one_line_containers(PACKAGE.encode()) == ({
        ("files",), ("scripts",), ("deps", "nested"), ("deps", "nested", 0), ("deps", "nested", 1),
        ("deps", "nested", 1, "y")},
        (", ", ": "))


def test_nothing_changed_is_written_as_it_was():
    assert edit(PACKAGE, lambda d: None) == PACKAGE


def test_a_change_inside_a_one_line_list_keeps_it_on_one_line():
    def change(document):
        document["name"] = "app2"
        document["deps"]["nested"][1]["y"].append(3)
        document["files"].remove("lib")

    assert changes(PACKAGE, edit(PACKAGE, change)) == [
        '-  "name": "app",', '-  "files": ["dist", "lib"],',
        '+  "name": "app2",', '+  "files": ["dist"],',
        '-    "nested": [{"x": 1}, {"y": [1, 2]}]', '+    "nested": [{"x": 1}, {"y": [1, 2, 3]}]']
    assert json.loads(edit(PACKAGE, change))["deps"]["nested"][1]["y"] == [1, 2, 3]


def test_new_containers_are_indented():
    def change(document):
        document["new"] = {"k": [1]}

    assert edit(PACKAGE, change).endswith('  ],\n  "new": {\n    "k": [\n      1\n    ]\n  }\n}\n')


def test_compact_separators_stay_compact():
    original = '{\n\t"a": [1,2],\n\t"b": {"c":1}\n}'

    def change(document):
        document["a"].append(3)

    assert edit(original, change) == '{\n\t"a": [1,2,3],\n\t"b": {"c":1}\n}'


def test_a_file_past_the_limit_is_written_in_one_style():
    big = '{\n  "pad": "' + "x" * JSON_LAYOUT_LIMIT + '",\n  "a": [1, 2]\n}\n'
    assert one_line_containers(big.encode())[0] == set()
    assert '"a": [\n    1,\n    2\n  ]' in edit(big, lambda d: None)
