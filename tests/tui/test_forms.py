"""The create/edit forms and the delete confirmation, driven by Textual's pilot on a real store."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Checkbox, Input, Select, TextArea

from realnet.core.errors import NotFound
from realnet.tui.confirm import ConfirmDelete
from realnet.tui.fields import EXTRA_FIELD, FORM_ERROR, NAME_FIELD, TYPE_FIELD, attribute_named, parse_extra
from realnet.tui.forms import ItemForm

# Read at import: the autouse fixture of tests/conftest.py clears REALNET_* variables.
SCREENSHOTS = Path(os.environ.get("REALNET_TUI_SCREENSHOTS")
                   or Path(__file__).resolve().parents[2] / "build" / "tui-screenshots").resolve()

SERVER = {"name": "Server", "base": "Item", "attributes": {
    "host": {"kind": "string", "required": True, "description": "DNS name or address"},
    "port": {"kind": "int", "default": 80},
    "weight": {"kind": "float"},
    "enabled": {"kind": "bool"},
    "tier": {"kind": "enum", "values": ["dev", "prod"], "default": "dev"},
    "password": {"kind": "secret"},
    "since": {"kind": "datetime"},
    "peer": {"kind": "ref"},
    "settings": {"kind": "json"},
}}
BAG = {"name": "Bag", "base": "Item", "open": True, "attributes": {"label": {"kind": "string"}}}


class Host(App[None]):
    """An empty app that the tests push a screen onto; results land in ``results``."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []

    async def show(self, screen) -> None:
        await self.push_screen(screen, callback=self.results.append)


def run(test: Callable[[], Any]) -> None:
    asyncio.run(test())


async def until(pilot, condition: Callable[[], bool], what: str) -> None:
    """Let the app work until ``condition`` holds (a bounded number of turns, not a timer)."""
    for _ in range(2000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}")


def screenshot(app: App, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app.save_screenshot(filename=f"forms-{name}.svg", path=str(SCREENSHOTS))


async def type_into(pilot, widget, text: str) -> None:
    """Focus ``widget`` and type ``text`` into it, replacing what an input held."""
    if isinstance(widget, Input):
        widget.value = ""
    widget.focus()
    await pilot.pause()
    await pilot.press(*text)


def exists(context, path: str) -> bool:
    try:
        context.get(path)
    except NotFound:
        return False
    return True


@pytest.fixture
def servers(context):
    """A store with two types of the tests' own (every kind, and an open type) and /srv."""
    context.create("/types/Server", "Type", {"definition": SERVER})
    context.create("/types/Bag", "Type", {"definition": BAG})
    context.create("/srv", "Folder")
    return context


async def open_new(app: Host, pilot, context, parent: str, type_name: str) -> ItemForm:
    form = ItemForm(context, parent=parent)
    await app.show(form)
    await until(pilot, lambda: form.loaded, "the form loaded its types")
    form.field(TYPE_FIELD).value = type_name
    await until(pilot, lambda: form._type_name == type_name and form.field_names, "the type's fields")
    return form


def test_document_without_title_shows_the_error_on_title_then_saves(context):
    context.create("/projects", "Folder")

    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = ItemForm(context, parent="/projects")
            await app.show(form)
            await until(pilot, lambda: form.loaded, "the form loaded its types")
            select = form.field(TYPE_FIELD)
            assert isinstance(select, Select)
            # "*" in a Folder: every type that can be created, never an abstract one
            offered = [value for _, value in select._options if value is not Select.NULL]
            assert "Document" in offered and "Folder" in offered
            assert "Item" not in offered and "Control" not in offered
            select.value = "Document"
            await until(pilot, lambda: "title" in form.field_names, "the Document fields")
            assert isinstance(form.field("body"), TextArea)
            assert isinstance(form.field("format"), Select)
            assert form.field("format").value == "plain"  # the default, pre-filled
            await type_into(pilot, form.field(NAME_FIELD), "notes")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.error_text("title") and not form.saving, "the title error")
            assert "attribute 'title' is required" in form.error_text("title")
            assert form.error_text(FORM_ERROR) == ""
            assert form.field("title").has_class("-error")
            assert not exists(context, "/projects/notes")
            assert app.screen is form and app.results == []
            assert form.field(NAME_FIELD).value == "notes"  # what was typed stays
            screenshot(app, "document-missing-title")

            await type_into(pilot, form.field("title"), "Plan")
            form.field("body").text = "first steps\nthen more"
            await pilot.press("enter")  # Enter in an input saves
            await until(pilot, lambda: app.results, "the form closed")
        item = app.results[0]
        assert item.path == "/projects/notes" and item.type == "Document"
        stored = context.get("/projects/notes").attributes
        assert stored["title"] == "Plan"
        assert stored["body"] == "first steps\nthen more"
        assert stored["format"] == "plain"

    run(scenario)


def test_int_field_with_text_shows_the_error_on_that_field(servers):
    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = await open_new(app, pilot, servers, "/srv", "Server")
            port = form.field("port")
            assert isinstance(port, Input) and port.type == "integer" and port.value == "80"
            await type_into(pilot, form.field(NAME_FIELD), "web")
            await type_into(pilot, form.field("host"), "web.example")
            await type_into(pilot, port, "-")  # what a person can type into an integer input
            assert port.value == "-"
            form.action_save()
            await until(pilot, lambda: form.error_text("port") and not form.saving, "the port error")
            assert form.error_text("port") == "/srv/web: attribute 'port' expects an integer, got '-'"
            assert form.error_text("host") == "" and form.error_text(FORM_ERROR) == ""
            assert app.focused is port
            assert not exists(servers, "/srv/web")
            screenshot(app, "int-field-error")

            await type_into(pilot, port, "8080")
            form.action_save()
            await until(pilot, lambda: app.results, "the form closed")
        assert servers.get("/srv/web").attributes["port"] == 8080

    run(scenario)


def test_enum_by_select_and_bool_by_checkbox(servers):
    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = await open_new(app, pilot, servers, "/srv", "Server")
            await type_into(pilot, form.field(NAME_FIELD), "db")
            await type_into(pilot, form.field("host"), "db.example")
            tier = form.field("tier")
            assert isinstance(tier, Select) and tier.value == "dev"
            tier.focus()
            await pilot.press("enter")  # open the list
            await pilot.pause()
            await pilot.press("down", "enter")  # dev → prod
            await until(pilot, lambda: tier.value == "prod", "prod chosen")
            enabled = form.field("enabled")
            assert isinstance(enabled, Checkbox) and enabled.value is False
            enabled.focus()
            await pilot.press("space")
            assert enabled.value is True
            screenshot(app, "enum-and-bool")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.results, "the form closed")
        stored = servers.get("/srv/db").attributes
        assert stored["tier"] == "prod"
        assert stored["enabled"] is True
        assert stored["port"] == 80  # the default went in as shown

    run(scenario)


def test_edit_raises_the_version_and_an_empty_secret_stays_unchanged(servers):
    servers.create("/srv/a", "Server", {"host": "old.example", "password": "s3cret-one", "weight": "1.5"},
                   from_text=True)
    item = servers.shown(servers.get("/srv/a"))
    assert item.attributes["password"] != "s3cret-one"

    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = ItemForm(servers, item=item)
            await app.show(form)
            await until(pilot, lambda: form.loaded and "host" in form.field_names, "the edit form")
            with pytest.raises(Exception):  # an edit has no type or name to choose  # noqa: B017
                form.field(TYPE_FIELD)
            password = form.field("password")
            assert isinstance(password, Input) and password.password and password.value == ""
            assert form.field("host").value == "old.example"
            assert form.field("weight").value == "1.5"
            await type_into(pilot, form.field("host"), "new.example")
            form.field("weight").value = ""  # emptied: the attribute is removed
            screenshot(app, "edit-server")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.results, "the form closed")
        assert app.results[0].version == item.version + 1

    run(scenario)
    revealed = servers.reveal("/srv/a")
    assert revealed.version == item.version + 1
    assert revealed.attributes["host"] == "new.example"
    assert revealed.attributes["password"] == "s3cret-one"
    assert "weight" not in revealed.attributes

    async def replace_secret():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = ItemForm(servers, item=servers.shown(revealed))
            await app.show(form)
            await until(pilot, lambda: "password" in form.field_names, "the edit form")
            await type_into(pilot, form.field("password"), "s3cret-two")
            form.action_save()
            await until(pilot, lambda: app.results, "the form closed")

    run(replace_secret)
    assert servers.reveal("/srv/a").attributes["password"] == "s3cret-two"


def test_edit_of_a_stale_version_shows_the_conflict_and_stays_open(servers):
    item = servers.create("/srv/b", "Server", {"host": "b.example"})

    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = ItemForm(servers, item=item)
            await app.show(form)
            await until(pilot, lambda: "host" in form.field_names, "the edit form")
            servers.update("/srv/b", {"host": "someone-else.example"})
            await type_into(pilot, form.field("host"), "mine.example")
            form.action_save()
            await until(pilot, lambda: form.error_text(FORM_ERROR) and not form.saving, "the conflict")
            assert "is stale" in form.error_text(FORM_ERROR)
            assert app.screen is form and form.field("host").value == "mine.example"
            await pilot.press("escape")
            await until(pilot, lambda: app.results, "the form closed")
        assert app.results == [None]

    run(scenario)
    assert servers.get("/srv/b").attributes["host"] == "someone-else.example"


def test_open_type_takes_extra_attributes_and_escape_cancels(servers):
    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = await open_new(app, pilot, servers, "/srv", "Bag")
            extra = form.field(EXTRA_FIELD)
            assert isinstance(extra, TextArea)
            await type_into(pilot, form.field(NAME_FIELD), "bag")
            extra.text = "port=5433\nzone=eu-1\nbroken line"
            form.action_save()
            await until(pilot, lambda: form.error_text(EXTRA_FIELD), "the extra error")
            assert "line 3" in form.error_text(EXTRA_FIELD)
            extra.text = "port=5433\nzone=eu-1\nquoted=\"7\""
            form.action_save()
            await until(pilot, lambda: app.results, "the form closed")
        attributes = servers.get("/srv/bag").attributes
        assert attributes["port"] == 5433 and attributes["zone"] == "eu-1" and attributes["quoted"] == "7"

        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = ItemForm(servers, item=servers.get("/srv/bag"))
            await app.show(form)
            await until(pilot, lambda: form._extra is not None, "the edit form")
            assert form.field(EXTRA_FIELD).text.splitlines() == ["port=5433", "zone=eu-1", 'quoted="7"']
            form.field(EXTRA_FIELD).text = "port=5433\nquoted=\"7\""
            form.action_save()
            await until(pilot, lambda: app.results, "the form closed")
        assert "zone" not in servers.get("/srv/bag").attributes

        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = await open_new(app, pilot, servers, "/srv", "Folder")
            await type_into(pilot, form.field(NAME_FIELD), "never")
            screenshot(app, "new-folder")
            await pilot.press("escape")
            await until(pilot, lambda: app.results, "the form closed")
        assert app.results == [None]
        assert not exists(servers, "/srv/never")

    run(scenario)


def test_name_problems_show_on_the_name_field(servers):
    servers.create("/srv/taken", "Folder")

    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = await open_new(app, pilot, servers, "/srv", "Folder")
            form.action_save()
            await until(pilot, lambda: form.error_text(NAME_FIELD), "the empty-name error")
            assert "must not be empty" in form.error_text(NAME_FIELD)
            await type_into(pilot, form.field(NAME_FIELD), "taken")
            form.action_save()
            await until(pilot, lambda: "already exists" in form.error_text(NAME_FIELD), "the exists error")
            assert app.results == []

    run(scenario)


def test_a_folder_that_holds_nothing_says_so(servers):
    servers.create("/srv/doc", "Document", {"title": "x"})

    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            form = ItemForm(servers, parent="/srv/doc")
            await app.show(form)
            await until(pilot, lambda: form.error_text(FORM_ERROR), "the error")
            assert "nothing can be created here" in form.error_text(FORM_ERROR)
            form = ItemForm(servers, parent="/nowhere")
            await app.show(form)
            await until(pilot, lambda: form.error_text(FORM_ERROR), "the error")
            assert "/nowhere" in form.error_text(FORM_ERROR)

    run(scenario)


@pytest.mark.parametrize(("keys", "expected"), [
    (("y",), True),
    (("n",), False),
    (("escape",), False),
    (("enter",), False),  # Cancel has the focus
    (("shift+tab", "enter"), True),  # Enter on Delete
])
def test_confirm_delete(keys, expected):
    async def scenario():
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            dialog = ConfirmDelete("/projects", 3)
            await app.show(dialog)
            await pilot.pause()
            assert dialog.question == "Delete /projects and its 3 item(s)?"
            if keys == ("y",):
                screenshot(app, "confirm-delete")
            await pilot.press(*keys)
            await until(pilot, lambda: app.results, "the answer")
        assert app.results == [expected]

    run(scenario)
    assert ConfirmDelete("/x", 0).question == "Delete /x?"


def test_helpers():
    assert attribute_named("/a/b: attribute 'port' expects an integer, got 'x'") == "port"
    assert attribute_named("/a/b: version 3 is stale") is None
    assert parse_extra("a=1\n\n b = two=2 \n") == {"a": "1", "b": "two=2"}
    with pytest.raises(ValueError, match="line 1"):
        parse_extra("nothing")


def test_the_form_fits_80_by_24(servers):
    async def scenario():
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            form = await open_new(app, pilot, servers, "/srv", "Server")
            await pilot.pause()
            screen = app.screen.region
            for button in ("#form-save", "#form-cancel"):
                region = form.query_one(button).region
                assert region.width and screen.contains_region(region), button
            form.field("settings").focus()  # far down: the fields scroll, the buttons stay
            await until(pilot, lambda: screen.contains_region(form.field("settings").region),
                        "the focused field scrolled into view")
            screenshot(app, "server-80x24")

    run(scenario)
