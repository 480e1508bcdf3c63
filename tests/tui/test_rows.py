"""The pure parts of the dashboard: filters, sorting, row cells, what is previewed."""

from __future__ import annotations

import pytest

from realnet.core.item import Item
from realnet.tui.backend import human_size, is_image_type, is_text_type
from realnet.tui.rows import Sort, name_glob, row_cells, short_time


@pytest.mark.parametrize(("typed", "glob"), [
    ("rep", "*rep*"), ("  rep ", "*rep*"), ("rep*", "rep*"), ("d0?1", "d0?1"), ("[ab]x", "[ab]x"),
    ("", None), ("   ", None),
])
def test_a_filter_without_glob_characters_matches_anywhere_in_the_name(typed, glob):
    assert name_glob(typed) == glob


def test_a_second_press_on_the_same_column_sorts_descending_and_another_column_starts_ascending():
    sort = Sort()
    assert sort.order == "name"
    sort = sort.pressed("name")
    assert sort.order == "-name"
    assert sort.pressed("name").order == "name"
    assert sort.pressed("updated").order == "updated"
    assert str(Sort("type", True).heading("type", "type")) == "type ▼"


@pytest.mark.parametrize(("content_type", "text"), [
    ("text/plain", True), ("text/markdown; charset=utf-8", True), ("application/json", True),
    ("application/ld+json", True), ("application/yaml", True), ("application/x-yaml", True),
    ("application/xml", True), ("application/atom+xml", True), ("application/octet-stream", False),
    ("image/png", False), ("application/pdf", False),
])
def test_text_json_yaml_and_xml_are_previewed(content_type, text):
    assert is_text_type(content_type) is text


def test_images_are_metadata_only():
    assert is_image_type("image/png") and is_image_type("IMAGE/JPEG") and not is_image_type("text/plain")


def test_a_row_shows_name_type_size_updated_owner_and_never_reads_markup():
    item = Item("id", "/f/[bold]x", "File", None, "alice", {"size": 3 * 1024 * 1024}, 2,
                "2026-01-02T03:04:05.000001Z", "2026-02-03T04:05:06.000001Z")
    cells = [c.plain for c in row_cells(item, False)]
    assert cells == ["[bold]x", "File", "3.0 MiB", "2026-02-03 04:05", "alice"]
    assert row_cells(item._replace(type="Folder", attributes={}), True)[0].plain == "[bold]x/"
    assert short_time("") == "" and human_size(512) == "512 B"
