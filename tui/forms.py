"""Create and edit forms generated from type definitions.

A form asks the context for the type's attributes (kind, required, default, description,
values) and makes one field per attribute. What the user typed goes to the context as
text (``from_text=True``): the context converts and checks it, as it does for the shell's
``--attr K=V``, so a form accepts exactly what the command line accepts. A RealnetError
comes back onto the field it names; store work runs in workers, off the screen's loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from realnet.core import paths
from realnet.core.errors import AlreadyExists, InvalidName, InvalidPath, RealnetError
from realnet.core.item import Item
from realnet.core.types import AttributeDef
from realnet.tui.fields import (
    EXTRA_FIELD,
    FORM_ERROR,
    NAME_FIELD,
    PLACEHOLDERS,
    TYPE_FIELD,
    TypeShape,
    attribute_named,
    creatable_types,
    extra_value_text,
    parse_extra,
    type_shape,
    value_text,
)


@dataclass
class _Field:
    """One attribute's input and where its error shows."""

    attr: AttributeDef
    widget: Widget
    error: Static
    original: str = ""

    def text(self) -> str:
        widget = self.widget
        if isinstance(widget, Checkbox):
            return "true" if widget.value else "false"
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        if isinstance(widget, TextArea):
            return widget.text
        assert isinstance(widget, Input)
        return widget.value


@dataclass
class _Request:
    """A create or an update, ready to run in a worker thread."""

    path: str
    type_name: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    unset: list[str] = field(default_factory=list)
    expected_version: int | None = None

    def apply(self, context: Any) -> Item:
        if self.type_name is not None:
            return context.create(self.path, self.type_name, self.values, from_text=True)
        return context.update(self.path, self.values, unset=self.unset,
                              expected_version=self.expected_version, from_text=True)


class _Problem(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class ItemForm(ModalScreen[Item | None]):
    """A new item in ``parent`` (type, name, then the type's attributes), or an existing
    ``item``'s attributes. Dismisses with the item written, or None when cancelled."""

    DEFAULT_CSS = """
    ItemForm { align: center middle; }
    ItemForm > #item-form {
        width: 88; max-width: 100%; height: 100%; max-height: 44;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ItemForm #form-title { text-style: bold; width: 1fr; }
    ItemForm #form-fields { height: 1fr; }
    ItemForm #form-attributes { height: auto; }
    ItemForm .field { height: auto; margin-bottom: 1; }
    ItemForm .field TextArea { height: 5; }
    ItemForm .field-hint { color: $text-muted; }
    ItemForm .field-error { color: $error; display: none; }
    ItemForm .-error { border: tall $error; }
    ItemForm #form-buttons { height: auto; align-horizontal: right; }
    ItemForm #form-buttons Button { margin-left: 1; }
    ItemForm #form-buttons .field-hint { width: 1fr; height: 3; content-align: left middle; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, context: Any, parent: str | None = None, *, item: Item | None = None,
                 type_name: str | None = None) -> None:
        if (parent is None) == (item is None):
            raise ValueError("ItemForm needs either parent= (a new item) or item= (an edit)")
        super().__init__()
        self.context = context
        self.parent_path = paths.normalize(parent) if parent is not None else None
        self.item = item
        self.preferred_type = type_name
        self._shapes: dict[str, TypeShape] = {}
        self._fields: dict[str, _Field] = {}
        self._extra: _Field | None = None
        self._extra_original: dict[str, str] = {}
        self._errors: dict[str, str] = {}
        self._type_name: str | None = item.type if item is not None else None
        self.loaded = False
        self.saving = False

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        if self.item is not None:
            title = f"Edit {self.item.path}  ({self.item.type}, version {self.item.version})"
        else:
            title = f"New item in {self.parent_path}"
        with Vertical(id="item-form"):
            yield Label(title, id="form-title", markup=False)
            yield Static("", id="form-error", classes="field-error", markup=False)
            with VerticalScroll(id="form-fields"):
                if self.item is None:
                    with Vertical(classes="field"):
                        yield Label(_label("type", required=True, kind=""))
                        yield Select[str]([], prompt="Choose a type", id="form-type")
                        yield Static("", id="form-type-error", classes="field-error", markup=False)
                    with Vertical(classes="field"):
                        yield Label(_label("name", required=True, kind=""))
                        yield Input(placeholder="name of the new item", id="form-name")
                        yield Static("", id="form-name-error", classes="field-error", markup=False)
                yield Vertical(id="form-attributes")
            with Horizontal(id="form-buttons"):
                yield Static("Enter or Ctrl+S saves · Esc cancels", classes="field-hint")
                yield Button("Save", variant="primary", id="form-save", disabled=True)
                yield Button("Cancel", id="form-cancel")

    def on_mount(self) -> None:
        self._load()

    # -- what the tests and the app may ask --------------------------------------------
    def field(self, name: str) -> Widget:
        """The input of attribute ``name`` (or of TYPE_FIELD, NAME_FIELD, EXTRA_FIELD)."""
        if name == TYPE_FIELD:
            return self.query_one("#form-type", Select)
        if name == NAME_FIELD:
            return self.query_one("#form-name", Input)
        if name == EXTRA_FIELD:
            if self._extra is None:
                raise KeyError(name)
            return self._extra.widget
        return self._fields[name].widget

    def error_text(self, name: str = FORM_ERROR) -> str:
        """The error shown on a field (or at the top with FORM_ERROR); '' if none."""
        return self._errors.get(name, "")

    @property
    def field_names(self) -> list[str]:
        return list(self._fields)

    # -- loading -----------------------------------------------------------------------
    @work(exclusive=True, group="item-form-load")
    async def _load(self) -> None:
        try:
            shapes = await asyncio.to_thread(self._read_shapes)
        except RealnetError as e:
            self._show_error(FORM_ERROR, str(e))
            return
        self._shapes = shapes
        if self.item is not None:
            await self._show_type(self.item.type)
        else:
            select = self.query_one("#form-type", Select)
            select.set_options((name, name) for name in shapes)
            if not shapes:
                self._show_error(FORM_ERROR, f"{self.parent_path}: nothing can be created here")
                return
            chosen = self.preferred_type if self.preferred_type in shapes else None
            if chosen is None and len(shapes) == 1:
                chosen = next(iter(shapes))
            if chosen is not None:
                select.value = chosen  # Select.Changed builds the fields
            select.focus()
        self.loaded = True
        self.query_one("#form-save", Button).disabled = False

    def _read_shapes(self) -> dict[str, TypeShape]:
        """In a worker thread: the parent, the types it may hold and their attributes."""
        if self.item is not None:
            self.context.types.get(self.item.type, where=self.item.path)  # unknown: UnknownType
            return {self.item.type: type_shape(self.context, self.item.type)}
        parent = self.context.get(self.parent_path)
        return {name: type_shape(self.context, name) for name in creatable_types(self.context, parent.type)}

    @on(Select.Changed, "#form-type")
    async def _type_chosen(self, event: Select.Changed) -> None:
        self._set_error(TYPE_FIELD, "")
        if event.value is Select.NULL:
            self._type_name = None
            await self.query_one("#form-attributes").remove_children()
            self._fields, self._extra = {}, None
            return
        await self._show_type(str(event.value))

    async def _show_type(self, type_name: str) -> None:
        """Replace the attribute fields with those of ``type_name``, keeping what was typed
        into attributes of the same name and kind."""
        typed = {name: (f.attr.kind, f.text()) for name, f in self._fields.items()}
        shape = self._shapes[type_name]
        self._type_name = type_name
        box = self.query_one("#form-attributes")
        self._fields, self._extra = {}, None
        await box.remove_children()
        fields: dict[str, _Field] = {}
        extra: _Field | None = None
        stored = self.item.attributes if self.item is not None else {}
        groups: list[Widget] = []
        for index, attr in enumerate(shape.attributes):
            if attr.kind == "secret":
                original = ""  # never shown; empty means unchanged
            elif self.item is not None:
                original = value_text(attr, stored.get(attr.name))
                if attr.kind == "bool" and attr.name not in stored:
                    original = "false"
            else:
                original = value_text(attr, attr.default)
                if attr.kind == "bool" and not original:
                    original = "false"
            initial = original
            kind, text = typed.get(attr.name, ("", ""))
            if self.item is None and kind == attr.kind and text:
                initial = text
            widget = self._make_input(index, attr, initial)
            error = Static("", classes="field-error", markup=False)
            fields[attr.name] = _Field(attr, widget, error, original)
            groups.append(self._group(attr, widget, error))
        if shape.open:
            declared = {a.name for a in shape.attributes}
            self._extra_original = {k: extra_value_text(v) for k, v in stored.items() if k not in declared}
            text = "\n".join(f"{k}={v}" for k, v in self._extra_original.items())
            area = TextArea(text, id="form-extra", tooltip="Attributes the type does not declare, "
                            "one key=value a line; a value that reads as JSON is that value")
            error = Static("", classes="field-error", markup=False)
            extra = _Field(AttributeDef(EXTRA_FIELD, kind="text"), area, error, text)
            groups.append(Vertical(Label(_label("extra attributes", required=False, kind="key=value a line")),
                                   area, error, classes="field"))
        await box.mount_all(groups)
        self._fields, self._extra = fields, extra  # once mounted, so that they can be read
        if self.item is not None and self._fields:
            next(iter(self._fields.values())).widget.focus()

    def _make_input(self, index: int, attr: AttributeDef, text: str) -> Widget:
        name = f"attr-{index}"
        tip = attr.description or None
        if attr.kind in ("text", "json"):
            return TextArea(text, id=name, tooltip=tip)
        if attr.kind == "bool":
            return Checkbox(attr.name, value=text == "true", id=name, tooltip=tip)
        if attr.kind == "enum":
            options = list(attr.values)
            if text and text not in options:
                options.insert(0, text)  # what is stored shows, even if the type changed since
            return Select([(v, v) for v in options], value=text or Select.NULL,
                          allow_blank=not attr.required or not text, id=name, tooltip=tip)
        if attr.kind == "secret":
            placeholder = "unchanged (type to replace)" if self.item is not None else ""
            return Input("", placeholder=placeholder, password=True, id=name, tooltip=tip)
        input_type = {"int": "integer", "float": "number"}.get(attr.kind, "text")
        return Input(text, placeholder=PLACEHOLDERS.get(attr.kind, ""), type=input_type,  # type: ignore[arg-type]
                     id=name, tooltip=tip)

    @staticmethod
    def _group(attr: AttributeDef, widget: Widget, error: Static) -> Vertical:
        parts: list[Widget] = [Label(_label(attr.name, required=attr.required, kind=attr.kind)), widget]
        if attr.description:
            parts.append(Static(attr.description, classes="field-hint", markup=False))
        parts.append(error)
        return Vertical(*parts, classes="field")

    # -- saving ------------------------------------------------------------------------
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#form-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#form-save")
    @on(Input.Submitted)
    def _save_asked(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        if not self.loaded or self.saving:
            return
        self._clear_errors()
        try:
            request = self._request()
        except _Problem as p:
            self._show_error(p.key, p.message)
            return
        if request is None:  # an edit that changes nothing writes nothing
            self.dismiss(self.item)
            return
        self.saving = True
        self.query_one("#form-save", Button).disabled = True
        self._write(request)

    def _request(self) -> _Request | None:
        if self.item is None:
            return self._create_request()
        return self._update_request()

    def _create_request(self) -> _Request:
        assert self.parent_path is not None
        if self._type_name is None:
            raise _Problem(TYPE_FIELD, "choose the type of the new item")
        name = self.query_one("#form-name", Input).value.strip()
        try:
            paths.check_name(name, where=repr(name) if name else "name")
        except RealnetError as e:
            raise _Problem(NAME_FIELD, str(e)) from None
        values = {n: f.text() for n, f in self._fields.items() if f.text() != ""}
        values.update(self._extra_values())
        return _Request(paths.join(self.parent_path, name), self._type_name, values)

    def _update_request(self) -> _Request | None:
        assert self.item is not None
        changes: dict[str, str] = {}
        unset: list[str] = []
        for name, f in self._fields.items():
            now = f.text()
            if f.attr.kind == "secret":
                if now:
                    changes[name] = now
            elif now != f.original:
                if now:
                    changes[name] = now
                elif name in self.item.attributes:
                    unset.append(name)
        if self._extra is not None:
            extra = self._extra_values()
            for key, text in extra.items():
                if self._extra_original.get(key) != text:
                    changes[key] = text
            unset.extend(k for k in self._extra_original if k not in extra)
        if not changes and not unset:
            return None
        return _Request(self.item.path, None, changes, unset, self.item.version)

    def _extra_values(self) -> dict[str, str]:
        if self._extra is None:
            return {}
        try:
            return parse_extra(self._extra.text())
        except ValueError as e:
            raise _Problem(EXTRA_FIELD, str(e)) from None

    @work(exclusive=True, group="item-form-save")
    async def _write(self, request: _Request) -> None:
        try:
            item = await asyncio.to_thread(request.apply, self.context)
        except RealnetError as e:
            self.saving = False
            self.query_one("#form-save", Button).disabled = False
            self._show_error(self._key_of(e), str(e))
            return
        self.dismiss(item)

    def _key_of(self, error: RealnetError) -> str:
        """Which field an error belongs on: the attribute it names, the name for a path
        problem of a new item, else the top of the form."""
        named = attribute_named(str(error))
        if named is not None:
            if named in self._fields:
                return named
            if self._extra is not None:
                return EXTRA_FIELD
        if self.item is None and isinstance(error, AlreadyExists | InvalidName | InvalidPath):
            return NAME_FIELD
        return FORM_ERROR

    # -- errors ------------------------------------------------------------------------
    def _error_widgets(self, key: str) -> tuple[Static | None, Widget | None]:
        if key == FORM_ERROR:
            return self.query_one("#form-error", Static), None
        if key == TYPE_FIELD:
            return self.query_one("#form-type-error", Static), self.query_one("#form-type")
        if key == NAME_FIELD:
            return self.query_one("#form-name-error", Static), self.query_one("#form-name")
        f = self._extra if key == EXTRA_FIELD else self._fields.get(key)
        return (f.error, f.widget) if f is not None else (None, None)

    def _set_error(self, key: str, message: str) -> None:
        label, widget = self._error_widgets(key)
        if label is None:
            return
        if message:
            self._errors[key] = message
        else:
            self._errors.pop(key, None)
        label.update(message)
        label.display = bool(message)
        if widget is not None:
            widget.set_class(bool(message), "-error")

    def _show_error(self, key: str, message: str) -> None:
        self._set_error(key, message)
        _, widget = self._error_widgets(key)
        if widget is not None:
            widget.focus()
            widget.scroll_visible()
        else:
            self.query_one("#form-fields").scroll_home()

    def _clear_errors(self) -> None:
        for key in list(self._errors):
            self._set_error(key, "")


def _label(name: str, *, required: bool, kind: str) -> Text:
    text = Text(name, style="bold")
    if required:
        text.append(" *", style="red")
    if kind:
        text.append(f"  {kind}", style="dim")
    return text
