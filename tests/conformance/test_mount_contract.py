"""One contract for the store and every mounted provider, through the Context facade.

Each test runs in ``/area`` of each provider (see mountareas.py): a Folder of the
store, an empty JSON/YAML/XML document, an empty local folder. A provider that lacks a
capability the test needs skips with the sentence mountareas.MISSING gives for it.
The last section copies and moves between providers.
"""

from __future__ import annotations

import pytest
from mountareas import (
    AREA,
    PROVIDERS,
    ROOTS,
    every,
    exists,
    names,
    on_disk,
    open_area,
    open_world,
    populate,
    shape,
    snapshot,
    touch_forward,
)

from realnet.core.context import Context
from realnet.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidName,
    InvalidPath,
    NotEmpty,
    NotFound,
    ReadOnly,
    ValidationError,
)


@pytest.fixture(params=PROVIDERS)
def area(request: pytest.FixtureRequest):
    yield from open_area(request.param, request)


class TestCrud:
    def test_create_get_list(self, area):
        made = area.node("p")
        area.node("p/q")
        got = area.context.get(area.at("p"))
        assert (got.type, got.path, made.type) == (area.node_type, area.at("p"), area.node_type)
        assert dict(got.attributes) == area.attributes
        assert got.parent_id == area.context.get(area.path).id
        assert area.context.get(area.at("p/q")).parent_id == got.id
        assert names(area.context.list(area.path)) == ["p"]
        assert names(area.context.list(area.at("p"))) == ["q"]
        with pytest.raises(NotFound, match="parent folder does not exist"):
            area.node("missing/x")

    def test_written_items_read_back_from_the_source(self, area):
        area.node("full")
        area.node("empty", {})
        area.node("full/inner")
        area.reread()  # documents: parse the file's bytes, not what the writer cached
        assert dict(area.context.get(area.at("full")).attributes) == area.attributes
        assert names(area.context.list(area.path)) == ["empty", "full"]
        assert names(area.context.list(area.at("full"))) == ["inner"]

    def test_empty_node_survives_later_writes(self, area):
        area.node("empty", {})
        area.node("later")
        assert area.context.get(area.at("empty")).type == area.node_type
        assert names(area.context.list(area.path)) == ["empty", "later"]

    def test_written_items_carry_their_current_version(self, area):
        made = area.node("p")
        assert made.version == area.context.get(area.at("p")).version
        changed = area.context.update(area.at("p"), {}, expected_version=made.version)
        assert changed.version == area.context.get(area.at("p")).version
        area.context.update(area.at("p"), {}, expected_version=changed.version)

    def test_update_and_unset_attributes(self, area):
        area.require("attributes")
        first, second, *_ = area.attributes
        before = area.node("p")
        changed = area.context.update(area.at("p"), {first: "changed ☃"}, unset=[second])
        expected = {**area.attributes, first: "changed ☃"}
        del expected[second]
        assert dict(changed.attributes) == expected
        assert changed.version != before.version
        assert dict(area.context.get(area.at("p")).attributes) == expected
        area.reread()
        assert dict(area.context.get(area.at("p")).attributes) == expected

    def test_stale_version_conflicts(self, area):
        first = next(iter(area.attributes), None)
        area.node("p")
        version = area.context.get(area.at("p")).version
        if first is not None:
            area.context.update(area.at("p"), {first: "a"}, expected_version=version)
        else:  # nothing to set: change what the folder holds, and make sure its time moves
            area.node("p/child")
            touch_forward(area, "p")
        assert area.context.get(area.at("p")).version != version
        before = snapshot(area)
        with pytest.raises(Conflict, match=f"{area.at('p')}: version {version} is stale"):
            area.context.update(area.at("p"), {first: "b"} if first else {}, expected_version=version)
        assert snapshot(area) == before

    def test_count_below(self, area):
        area.node("a")
        area.node("a/b")
        area.node("c")
        assert area.context.count_below(area.path) == 3
        assert area.context.count_below(area.at("a")) == 1
        assert area.context.count_below("/") == len(every(area.context, "/"))


class TestPaging:
    @pytest.mark.parametrize("order", ["name", "-name", "type", "-type", "updated", "-updated"])
    @pytest.mark.parametrize("limit", [1, 2, 3])
    def test_pages_cover_every_child_once(self, area, order, limit):
        for i in range(7):
            if i % 2 and area.other is not None:
                area.context.create(area.at(f"i{i}"), area.other[0], area.other[1])
            else:
                area.node(f"i{i}")
        whole = area.context.list(area.path, order=order, limit=100).items
        paged, cursor, pages = [], None, 0
        while True:
            page = area.context.list(area.path, order=order, limit=limit, cursor=cursor)
            assert len(page.items) <= limit
            paged += names(page)
            pages += 1
            if (cursor := page.next_cursor) is None:
                break
        assert paged == [i.name for i in whole]
        assert sorted(paged) == [f"i{i}" for i in range(7)]
        assert pages in (-(-7 // limit), -(-7 // limit) + 1)
        key = order.lstrip("-")
        keys = [(getattr(i, key), i.name) for i in whole]
        assert keys == sorted(keys, reverse=order.startswith("-"))

    def test_bad_cursor_order_and_missing_folder(self, area):
        area.node("p")
        with pytest.raises(ValidationError, match="not a cursor"):
            area.context.list(area.path, cursor="garbage!")
        with pytest.raises(ValidationError, match="order 'size'"):
            area.context.list(area.path, order="size")
        with pytest.raises(NotFound, match=f"{area.at('nope')}: no such item"):
            area.context.list(area.at("nope"))

    def test_name_prefix_completion(self, area):
        for name in ("al", "alpha", "alpine", "beta"):
            area.node(name)
        assert names(area.context.complete(area.path, "al", 10)) == ["al", "alpha", "alpine"]
        assert names(area.context.complete(area.path, "alp", 10)) == ["alpha", "alpine"]
        first = area.context.complete(area.path, "al", 1)
        assert names(first) == ["al"] and first.next_cursor is not None
        assert names(area.context.complete(area.path, "zz", 10)) == []


class TestSearch:
    def build(self, area):
        area.node("p")
        area.node("p/notes")
        area.node("p/other")
        area.node("p/nested")
        area.node("p/nested/nodes")

    def test_find_by_type_and_name(self, area):
        self.build(area)
        found = area.context.find(area.path, type_name=area.node_type, name_glob="no*")
        assert [i.path for i in found.items] == [area.at("p/nested/nodes"), area.at("p/notes")]
        assert [i.path for i in area.context.find(area.at("p"), max_depth=1).items] == \
            [area.at("p/nested"), area.at("p/notes"), area.at("p/other")]
        assert [i.path for i in area.context.find(area.path, name_glob="*th*").items] == [area.at("p/other")]

    @pytest.mark.parametrize("limit", [1, 2, 3, 5])
    def test_find_from_the_root_merges_store_and_mounts(self, area, limit):
        self.build(area)
        for around in ("/area-side", "/area0"):  # just before and just after /area/… in path order
            area.context.create(around, "Folder")
            area.context.create(f"{around}/notes", "Folder")
        whole = [i.path for i in every(area.context, "/")]
        assert whole == sorted(set(whole))
        inside = [area.at(p) for p in ("p", "p/nested", "p/nested/nodes", "p/notes", "p/other")]
        assert [p for p in whole if p.startswith(AREA + "/")] == inside
        assert [i.path for i in every(area.context, "/", limit=limit)] == whole
        assert [i.path for i in every(area.context, "/", limit=limit, name_glob="no*")] == \
            ["/area-side/notes", area.at("p/nested/nodes"), area.at("p/notes"), "/area0/notes"]
        assert area.context.count_below("/") == len(whole)
        typed = [i.path for i in every(area.context, "/", type_name=area.node_type)]
        assert [i.path for i in every(area.context, "/", limit=limit, type_name=area.node_type)] == typed
        assert set(inside) <= set(typed)
        shallow = [i.path for i in every(area.context, "/", limit=limit, max_depth=3)]
        assert area.at("p/notes") in shallow and area.at("p/nested/nodes") not in shallow
        assert shallow == [p for p in whole if p.count("/") <= 3]


class TestMoveCopyDelete:
    def build(self, area):
        area.node("a")
        area.node("a/b")
        area.node("a/b/c")
        area.node("a-side")

    def test_delete(self, area):
        self.build(area)
        before = snapshot(area)
        with pytest.raises(NotEmpty, match=f"{area.at('a')}: "):
            area.context.delete(area.at("a"))
        assert snapshot(area) == before
        assert area.context.delete(area.at("a"), recursive=True) == 3
        assert area.context.delete(area.at("a-side")) == 1
        assert names(area.context.list(area.path)) == []
        assert not exists(area.context, area.at("a/b"))

    def test_move_and_rename(self, area):
        self.build(area)
        area.context.move(area.at("a/b/c"), area.at("a-side"))  # into the folder
        assert dict(area.context.get(area.at("a-side/c")).attributes) == area.attributes
        area.context.move(area.at("a-side/c"), area.at("a-side/renamed"))
        assert names(area.context.list(area.at("a-side"))) == ["renamed"]
        area.context.move(area.at("a"), area.at("z"))
        assert [i.path for i in every(area.context, area.at("z"))] == [area.at("z/b")]
        assert not exists(area.context, area.at("a"))
        assert exists(area.context, area.at("a-side/renamed"))

    def test_copy_subtree(self, area):
        self.build(area)
        copied = area.context.copy(area.at("a"), area.at("copy"))
        assert copied.path == area.at("copy")
        assert [i.path for i in every(area.context, area.at("copy"))] == [area.at("copy/b"), area.at("copy/b/c")]
        assert dict(area.context.get(area.at("copy/b/c")).attributes) == area.attributes
        assert exists(area.context, area.at("a/b/c"))
        if area.attributes:
            first = next(iter(area.attributes))
            area.context.update(area.at("copy/b/c"), {first: "changed"})
            assert dict(area.context.get(area.at("a/b/c")).attributes) == area.attributes

    def test_move_into_itself_refused(self, area):
        self.build(area)
        before = snapshot(area)
        with pytest.raises(InvalidPath, match="into itself"):
            area.context.move(area.at("a"), area.at("a/b/x"))
        with pytest.raises(InvalidPath, match="into itself"):
            area.context.copy(area.at("a"), area.at("a/b/x"))
        assert snapshot(area) == before


class TestNames:
    def test_duplicate_names_change_nothing(self, area):
        area.node("p")
        area.node("q")
        before = snapshot(area)
        with pytest.raises(AlreadyExists, match=f"{area.at('p')}: an item with this name already exists"):
            area.node("p")
        area.node("p/q")
        before = snapshot(area)
        for relocate in (area.context.move, area.context.copy):  # into p, where a q already is
            with pytest.raises(AlreadyExists, match=f"{area.at('p/q')}: an item with this name"):
                relocate(area.at("q"), area.at("p"))
            assert snapshot(area) == before

    def test_names_the_source_cannot_hold_are_invalid_names(self, area):
        refused = {"xml": ["1st", "with space", "a☃"], "json": ["100%"], "yaml": ["100%"]}.get(area.kind)
        if not refused:
            pytest.skip(f"{area.kind}: holds every valid item name, so there is none to refuse")
        before = snapshot(area)
        for name in refused:
            with pytest.raises(InvalidName, match=name):
                area.node(name)
            assert snapshot(area) == before

    @pytest.mark.parametrize("bad", ["a\x00b", "a\tb", "..", "x" * 256, "☃" * 86])
    def test_bad_names_change_nothing(self, area, bad):
        before = snapshot(area)
        with pytest.raises((InvalidName, InvalidPath)):
            area.node(bad)
        assert snapshot(area) == before

    def test_unicode_names_round_trip(self, area):
        area.node("n-Ünïcødé-名前")
        area.reread()
        assert names(area.context.list(area.path)) == ["n-Ünïcødé-名前"]
        assert area.context.get(area.at("n-Ünïcødé-名前")).name == "n-Ünïcødé-名前"

    def test_any_names_round_trip(self, area):
        area.require("any_names")
        wanted = ["Ünïcødé ☃", "with space", "1.5", "😀", "a%2Fb"]
        for name in wanted:
            area.node(name)
        area.reread()
        assert names(area.context.list(area.path)) == sorted(wanted)

    def test_child_type_not_allowed_changes_nothing(self, area):
        parent, foreign = area.path, "Folder" if area.node_type == "DocumentObject" else "Document"
        if area.kind in ("sqlite", "postgresql"):  # a Folder holds anything: try below a Document
            parent, foreign = area.context.create(area.at("d"), "Document", {"title": "t"}).path, "Folder"
        before = snapshot(area)
        with pytest.raises(ValidationError, match=f"{parent}/x: a .* cannot hold a {foreign}"):
            area.context.create(f"{parent}/x", foreign, {"title": "t"})
        assert snapshot(area) == before


class TestTransactions:
    def test_failure_inside_a_transaction_rolls_back(self, area):
        before = snapshot(area)
        with pytest.raises(AlreadyExists), area.context.transaction():
            area.node("t1")
            area.node("t1/x")
            area.node("t1")
        if "transactions" not in area.capabilities:
            assert exists(area.context, area.at("t1/x"))  # what the skip below says, checked
            area.require("transactions")
        assert snapshot(area) == before


class TestCapabilities:
    def test_lists(self, area):
        area.require("lists")
        area.node("o")
        area.context.create(area.at("o/l"), "DocumentList")
        area.node("o/l/0", area.attributes)
        area.node("o/l/1", {"title": "second"})
        with pytest.raises(ValidationError, match="the next one is 2"):
            area.node("o/l/5")
        assert names(area.context.list(area.at("o/l"))) == ["0", "1"]
        area.context.delete(area.at("o/l/0"))
        area.reread()
        assert dict(area.context.get(area.at("o/l/0")).attributes) == {"title": "second"}

    def test_types_are_checked(self, area):
        area.require("types")
        with pytest.raises(ValidationError, match="attribute 'title' is required"):
            area.context.create(area.at("d"), "Document", {})
        assert area.context.create(area.at("d"), "Document", {"title": "t"}).type == "Document"

    def test_file_content(self, area):
        area.require("content")
        area.context.put_content(area.at("f.txt"), [b"hello ", b"world"])
        item, chunks = area.context.read_content(area.at("f.txt"))
        assert (item.type, b"".join(chunks), item.attributes["size"]) == ("File", b"hello world", 11)

    def test_acl_grants_reach_the_subtree(self, area):
        area.require("acl")
        from realnet.resources.accounts import Directory, grant

        Directory(area.context).add_user("zed", password=None)
        area.node("shared")
        area.node("shared/inner")
        reader = Context(area.context.store, area.context.resources, principal="zed",
                         init_directories=area.context.init_directories, secrets=area.context.secrets)
        with pytest.raises(NotFound):
            reader.get(area.at("shared/inner"))
        grant(area.context, area.at("shared"), "zed", ("read",))
        reader.refresh()
        assert reader.get(area.at("shared/inner")).path == area.at("shared/inner")


class TestReadOnly:
    def test_read_only_mount_refuses_every_write(self, area):
        area.require("read_only")
        area.node("a")
        area.node("a/b")
        area.context.create("/outside", "Folder")
        area.set_read_only()
        before = snapshot(area)
        first = next(iter(area.attributes), None)
        writes = {
            "create": lambda: area.node("new"),
            "update": lambda: area.context.update(area.at("a"), {first: "x"} if first else {}),
            "delete": lambda: area.context.delete(area.at("a/b")),
            "delete -r": lambda: area.context.delete(area.at("a"), recursive=True),
            "rename": lambda: area.context.move(area.at("a"), area.at("renamed")),
            "copy within": lambda: area.context.copy(area.at("a"), area.at("copy")),
            "copy in": lambda: area.context.copy("/outside", area.at("outside")),
            "move out": lambda: area.context.move(area.at("a/b"), "/outside/b"),
            "move in": lambda: area.context.move("/outside", area.at("outside")),
        }
        if first is not None:
            writes["unset"] = lambda: area.context.update(area.at("a"), {}, unset=[first])
            writes["top value"] = lambda: area.context.update(area.path, {"top": "x"})
        if "content" in area.capabilities:
            writes["put"] = lambda: area.context.put_content(area.at("f.txt"), [b"x"])
        for what, write in writes.items():
            with pytest.raises(ReadOnly, match=f"{AREA} is a read-only mount"):
                write()
            assert snapshot(area) == before, what
        assert exists(area.context, "/outside") and [i.path for i in every(area.context, "/outside")] == []


# -- across providers -------------------------------------------------------------------------
DOCS = ("json", "yaml", "xml")
PAIRS = [*((d, "store") for d in DOCS), *(("store", d) for d in DOCS), ("store", "filetree"),
         ("filetree", "store"), *((a, b) for a in DOCS for b in DOCS if a != b)]


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest):
    yield from open_world(request.param, request)


@pytest.mark.parametrize("operation", ["copy", "move"])
@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_across_providers(world, source, target, operation):
    context, sources = world
    src, dst = f"{ROOTS[source]}/src", f"{ROOTS[target]}/dst"
    expected = populate(context, source, src, files="filetree" in (source, target))
    assert shape(context, src) == expected
    disk = on_disk(sources.get(source))
    getattr(context, operation)(src, dst)
    assert shape(context, dst) == expected
    if operation == "copy":
        assert shape(context, src) == expected
        assert on_disk(sources.get(source)) == disk  # the source's bytes did not change
    else:
        assert not exists(context, src)
        assert names(context.list(ROOTS[source])) == []


@pytest.mark.parametrize(("source", "target"), [("filetree", "json"), ("json", "filetree"), ("filetree", "xml")])
def test_across_providers_refused_changes_nothing(world, source, target):
    context, sources = world
    src = f"{ROOTS[source]}/src"
    populate(context, source, src, files=source == "filetree")
    before = (shape(context, src), [on_disk(s) for s in sources.values()])
    for operation in (context.copy, context.move):
        with pytest.raises(ValidationError):
            operation(src, f"{ROOTS[target]}/dst")
        assert (shape(context, src), [on_disk(s) for s in sources.values()]) == before
        assert not exists(context, f"{ROOTS[target]}/dst")


def test_a_transaction_across_providers_rolls_back_everywhere(world):
    context, sources = world
    before = ([i.path for i in every(context, "/")], [on_disk(s) for k, s in sources.items() if k in DOCS])
    with pytest.raises(AlreadyExists), context.transaction():
        for kind in ("store", *DOCS):
            context.create(f"{ROOTS[kind]}/t1", "Folder" if kind == "store" else "DocumentObject", {"title": "t"})
        context.copy(f"{ROOTS['json']}/t1", f"{ROOTS['store']}/t2")
        context.create(f"{ROOTS['store']}/t1", "Folder")
    assert ([i.path for i in every(context, "/")], [on_disk(s) for k, s in sources.items() if k in DOCS]) == before
