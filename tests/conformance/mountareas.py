"""The areas the mount contract runs in: one place per provider, reached through the
Context facade, with what that provider can and cannot do stated in one table.

An area is ``/area``: a Folder of the store (sqlite, postgresql), an empty document
mounted there (json ``{}``, yaml ``{}``, xml ``<area/>``), or an empty temporary folder
mounted read-write (filetree). Documents and folders are mounted in a SQLite store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from realnet.core.context import Context
from realnet.core.errors import NotFound
from realnet.core.loader import packaged_directory
from realnet.resources import ResourceRegistry
from realnet.security.secrets import SecretBox
from realnet.storage.local import LocalContent

TEST_KEY = "cmVhbG5ldC10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE="  # as tests/conformance/conftest.py
AREA = "/area"
PROVIDERS = ("sqlite", "postgresql", "json", "yaml", "xml", "filetree")
DOCUMENTS = {"json": ("JsonDocument", "area.json", "{}"), "yaml": ("YamlDocument", "area.yaml", "{}\n"),
             "xml": ("XmlDocument", "area.xml", "<area/>")}
EVERYTHING = frozenset({"attributes", "content", "acl", "types", "lists", "transactions", "read_only",
                        "any_names"})

_DOC = "a document holds only DocumentObject and DocumentList nodes"
#: (provider, capability) → why the provider lacks it; every skip quotes this table.
MISSING: dict[tuple[str, str], str] = {
    **{(store, "lists"): "the store has no lists; DocumentList nodes exist only inside documents"
       for store in ("sqlite", "postgresql")},
    **{(store, "read_only"): "the store itself has no read-only mode; only mounts can be read-only"
       for store in ("sqlite", "postgresql")},
    **{(doc, "content"): "a document holds no file content" for doc in DOCUMENTS},
    **{(doc, "types"): f"{_DOC}, not items of other types (Document, File …)" for doc in DOCUMENTS},
    **{(mounted, "acl"): "items inside a mount take their permissions from the mount; an ACL below it "
       "is refused" for mounted in (*DOCUMENTS, "filetree")},
    ("xml", "any_names"): "element names must be XML names (a letter or '_' first, no spaces or "
                          "symbols such as ☃)",
    ("filetree", "attributes"): "folders on disk carry no attributes (a file's size and content type "
                                "come from the file)",
    ("filetree", "types"): "a folder on disk holds only Folder and File items",
    ("filetree", "lists"): "a folder on disk holds folders and files, not lists",
    ("xml", "lists"): "XML has no list of its own: repeated elements read as a list, so a list "
                      "cannot be made empty and then filled, and one left with a single entry "
                      "reads back as an element",
    ("filetree", "transactions"): "changes on disk are not transactional: folders and files created "
                                  "inside a failed transaction stay on disk (realnet/core/crossing.py: "
                                  "'files written into a local folder stay (disks have no transactions)')",
}

#: Values each kind of node can carry (the first two are changed and unset by the tests).
ATTRIBUTES = {
    "sqlite": {"title": "T", "description": "D ünïcødé"},
    "postgresql": {"title": "T", "description": "D ünïcødé"},
    "json": {"title": "T", "n": 1, "ratio": 0.5, "flag": True, "tags": ["a", "b"], "nothing": None},
    "yaml": {"title": "T", "n": 1, "ratio": 0.5, "flag": True, "tags": ["a", "b"], "nothing": None},
    "xml": {"title": "T", "@id": "x1", "note": "ünïcødé"},  # XML holds text only
    "filetree": {},
}


@dataclass
class Area:
    kind: str
    context: Context
    path: str
    node_type: str  # the container type created in the area
    attributes: dict[str, Any]  # what a node can carry ({} when it carries nothing)
    capabilities: frozenset[str]
    source: Path | None = None  # the mounted file or folder
    other: tuple[str, dict[str, Any]] | None = field(default=None)  # a second child type, if any

    def require(self, capability: str) -> None:
        """Skip, saying why, when this provider lacks ``capability``."""
        if capability not in self.capabilities:
            pytest.skip(f"{self.kind}: no {capability} capability: {MISSING[self.kind, capability]}")

    def at(self, relative: str) -> str:
        return f"{self.path}/{relative}"

    def node(self, relative: str, attributes: dict[str, Any] | None = None):
        return self.context.create(self.at(relative), self.node_type,
                                   self.attributes if attributes is None else attributes)

    def disk(self) -> Any:
        """The mounted source as bytes on disk (None for the store)."""
        return on_disk(self.source)

    def reread(self) -> None:
        """Make the next read parse the source again instead of a cached parse."""
        if self.source is not None and self.source.is_file():
            st = self.source.stat()
            os.utime(self.source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))

    def set_read_only(self) -> None:
        self.context.update(self.path, {"read_only": True})


def on_disk(source: Path | None) -> Any:
    if source is None:
        return None
    if source.is_file():
        return source.read_bytes()
    return sorted((str(p.relative_to(source)), p.read_bytes() if p.is_file() else None)
                  for p in source.rglob("*"))


def make_context(request: pytest.FixtureRequest, store: str) -> Context:
    tmp_path = request.getfixturevalue("tmp_path")
    if store == "postgresql":
        from realnet.providers.sql.postgresql import PostgresProvider

        provider = PostgresProvider(request.getfixturevalue("pg_schema"), label="test")
    else:
        from realnet.providers.sql.sqlite import SqliteProvider

        provider = SqliteProvider(tmp_path / "store.db")
    context = Context(provider, ResourceRegistry(), init_directories=[packaged_directory()],
                      secrets=SecretBox(TEST_KEY, None), content=LocalContent(tmp_path / "content"))
    context.ensure_initialized()
    return context


def mount(context: Context, path: str, kind: str, folder: Path) -> Path:
    """Mount a new empty document or folder of ``kind`` at ``path``; returns its source."""
    if kind == "filetree":
        source = folder / f"tree-{path.strip('/')}"
        source.mkdir()
        context.create(path, "FileTree", {"path": str(source)})
        return source
    type_name, filename, text = DOCUMENTS[kind]
    source = folder / f"{path.strip('/')}-{filename}"
    source.write_text(text)
    context.create(path, type_name, {"path": str(source)})
    return source


def open_area(kind: str, request: pytest.FixtureRequest) -> Iterator[Area]:
    context = make_context(request, "postgresql" if kind == "postgresql" else "sqlite")
    capabilities = frozenset(c for c in EVERYTHING if (kind, c) not in MISSING)
    if kind in ("sqlite", "postgresql"):
        context.create(AREA, "Folder")
        area = Area(kind, context, AREA, "Folder", ATTRIBUTES[kind], capabilities,
                    other=("Document", {"title": "t"}))
    else:
        source = mount(context, AREA, kind, request.getfixturevalue("tmp_path"))
        node_type = "Folder" if kind == "filetree" else "DocumentObject"
        area = Area(kind, context, AREA, node_type, ATTRIBUTES[kind], capabilities, source,
                    other=("File", {}) if kind == "filetree" else None)
    try:
        yield area
    finally:
        context.provider.close()


# -- reading an area back ---------------------------------------------------------------------
def every(context: Context, root: str, *, limit: int = 1000, **options: Any) -> list:
    """Every item ``find`` yields below ``root``, page by page."""
    found, cursor = [], None
    while True:
        page = context.find(root, limit=limit, cursor=cursor, **options)
        found += page.items
        if (cursor := page.next_cursor) is None:
            return found


def snapshot(area: Area) -> tuple:
    """Everything observable about the area and its source, to prove nothing changed."""
    items = [area.context.get(area.path), *every(area.context, area.path)]
    return sorted((i.path, i.type, i.version, repr(dict(i.attributes))) for i in items), area.disk()


def exists(context: Context, path: str) -> bool:
    try:
        context.get(path)
    except NotFound:
        return False
    return True


def names(page: Any) -> list[str]:
    return [i.name for i in page.items]


def touch_forward(area: Area, relative: str) -> None:
    """Move a folder's time on disk forward, so a change shows even on a coarse clock."""
    real = area.source / relative
    st = real.stat()
    os.utime(real, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


# -- several providers side by side ----------------------------------------------------------
OBJECTS = {"": {"title": "T"}, "inner": {"title": "I", "description": "ünïcødé"},
           "inner/deep": {"title": "D"}}
FILES = {"": None, "sub": None, "sub/f.txt": b"hello\n", "g.bin": bytes(range(256))}
ROOTS = {"store": "/store", "json": "/json", "yaml": "/yaml", "xml": "/xml", "filetree": "/files"}


def open_world(store: str, request: pytest.FixtureRequest) -> Iterator[tuple[Context, dict[str, Path]]]:
    """A store (sqlite or postgresql) with a folder and one mount of each kind."""
    context = make_context(request, store)
    tmp_path = request.getfixturevalue("tmp_path")
    context.create(ROOTS["store"], "Folder")
    sources = {k: mount(context, root, k, tmp_path) for k, root in ROOTS.items() if k != "store"}
    try:
        yield context, sources
    finally:
        context.provider.close()


def populate(context: Context, kind: str, root: str, files: bool) -> dict[str, Any]:
    """Folders/objects (and files) below ``root``; returns the shape they should have."""
    node = "Folder" if kind in ("store", "filetree") else "DocumentObject"
    wanted = FILES if files else OBJECTS
    for relative, value in wanted.items():
        path = f"{root}/{relative}".rstrip("/")
        if isinstance(value, bytes):
            context.put_content(path, [value])
        else:
            context.create(path, node, value or {})
    return {k: ("file", v) if isinstance(v, bytes) else ("folder", v or {}) for k, v in wanted.items()}


def shape(context: Context, root: str) -> dict[str, Any]:
    """Relative path → (folder or file, attributes or bytes): what a copy must reproduce."""
    out = {}
    for item in [context.get(root), *every(context, root)]:
        relative = item.path[len(root):].lstrip("/")
        if item.type == "File":
            out[relative] = ("file", b"".join(context.read_content(item.path)[1]))
        else:
            out[relative] = ("folder", dict(item.attributes))
    return out
