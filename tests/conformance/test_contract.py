"""The behaviour every provider must show, through the context every face uses."""

from __future__ import annotations

import pytest

from realnet.core.context import Context
from realnet.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidName,
    InvalidPath,
    NotEmpty,
    NotFound,
    ValidationError,
)
from realnet.core.transfer import export_tree, import_tree


def snapshot(tree: Context, root: str = "/") -> list[tuple]:
    """Everything observable about a subtree, to prove an operation changed nothing."""
    items, cursor = [tree.get(root)], None
    while True:
        page = tree.find(root, limit=1000, cursor=cursor)
        items += page.items
        if (cursor := page.next_cursor) is None:
            break
    return sorted((i.path, i.type, i.version, dict(i.attributes).__repr__()) for i in items)


def exists(tree: Context, path: str) -> bool:
    try:
        tree.get(path)
    except NotFound:
        return False
    return True


def folder(tree: Context, path: str):
    return tree.create(path, "Folder")


class TestCrud:
    def test_initial_tree(self, tree):
        names = [i.name for i in tree.list("/")]
        assert names == ["apps", "clusters", "home", "system", "types"]
        assert tree.get("/home/admin").type == "Folder"

    def test_create_get_update(self, tree):
        folder(tree, "/p")
        doc = tree.create("/p/notes", "Document", {"title": "Plan", "body": "b"})
        assert doc.version == 1 and doc.owner == "admin" and doc.parent_id == tree.get("/p").id
        assert dict(tree.get("/p/notes").attributes) == {"title": "Plan", "body": "b", "format": "plain"}
        changed = tree.update("/p/notes", {"title": "Plan v2"})
        assert changed.version == 2
        assert changed.attributes["title"] == "Plan v2" and changed.attributes["body"] == "b"
        assert changed.updated >= doc.updated and changed.created == doc.created

    def test_unset_attribute(self, tree):
        tree.create("/d", "Document", {"title": "t", "body": "b"})
        assert "body" not in tree.update("/d", {}, unset=["body"]).attributes
        with pytest.raises(ValidationError, match="required"):
            tree.update("/d", {}, unset=["title"])

    def test_instances_are_created_with_their_item(self, tree):
        tree.create("/types/Project", "Type", {"definition": {
            "name": "Project", "base": "Folder",
            "instances": [{"name": "docs", "type": "Folder"},
                          {"name": "readme", "type": "Document", "attributes": {"title": "Read me"}}],
        }})
        tree.create("/proj", "Project")
        assert [i.name for i in tree.list("/proj")] == ["docs", "readme"]


class TestNamesAndPaths:
    @pytest.mark.parametrize("bad", ["/a\x00b", "/a\tb", "/..", "/" + "x" * 256])
    def test_bad_names_change_nothing(self, tree, bad):
        before = snapshot(tree)
        with pytest.raises((InvalidName, InvalidPath)):
            folder(tree, bad)
        assert snapshot(tree) == before

    def test_duplicate_and_missing_parent(self, tree):
        folder(tree, "/p")
        with pytest.raises(AlreadyExists, match="/p: an item with this name already exists"):
            folder(tree, "/p")
        with pytest.raises(NotFound, match="/missing: parent folder does not exist"):
            folder(tree, "/missing/x")
        made = tree.create("/deep/er/x", "Folder", parents=True)
        assert made.path == "/deep/er/x"

    def test_unicode_names_round_trip(self, tree):
        folder(tree, "/Ünïcødé ☃")
        assert tree.get("/Ünïcødé ☃").name == "Ünïcødé ☃"


class TestTypesAndValidation:
    def test_unknown_type_and_abstract(self, tree):
        with pytest.raises(NotFound, match="unknown type 'Nope'"):
            tree.create("/x", "Nope")
        with pytest.raises(ValidationError, match="abstract"):
            tree.create("/x", "Item")

    def test_child_type_not_allowed(self, tree):
        tree.create("/d", "Document", {"title": "t"})
        before = snapshot(tree)
        with pytest.raises(ValidationError, match="/d/x: a Document cannot hold a Folder"):
            folder(tree, "/d/x")
        assert snapshot(tree) == before

    def test_attribute_kinds_and_required(self, tree):
        with pytest.raises(ValidationError, match="attribute 'title' is required for a Document"):
            tree.create("/d", "Document", {})
        with pytest.raises(ValidationError, match="attribute 'depth' expects an integer"):
            tree.create("/v", "TreeView", {"depth": "deep"}, from_text=True)
        assert tree.create("/v", "TreeView", {"depth": "12"}, from_text=True).attributes["depth"] == 12

    def test_types_defined_as_data(self, tree):
        with pytest.raises(ValidationError, match="refers to unknown type 'Nope'"):
            tree.create("/types/Bad", "Type", {"definition": {"name": "Bad", "base": "Nope"}})
        with pytest.raises(ValidationError, match="expected the item's name"):
            tree.create("/types/Other", "Type", {"definition": {"name": "Else", "base": "Item"}})
        tree.create("/types/Task", "Type", {"definition": {
            "name": "Task", "base": "Item", "attributes": {"done": "bool"}}})
        assert tree.create("/t", "Task", {"done": "yes"}, from_text=True).attributes["done"] is True


class TestVersions:
    def test_stale_version_conflicts(self, tree):
        tree.create("/d", "Document", {"title": "t"})
        tree.update("/d", {"title": "a"}, expected_version=1)
        with pytest.raises(Conflict, match="/d: version 1 is stale"):
            tree.update("/d", {"title": "b"}, expected_version=1)
        assert tree.get("/d").attributes["title"] == "a"


class TestPaging:
    def test_keyset_pages_cover_everything_once(self, tree):
        folder(tree, "/many")
        for i in range(250):
            folder(tree, f"/many/n{i:03d}")
        seen, cursor = [], None
        while True:
            page = tree.list("/many", limit=100, cursor=cursor)
            seen += [i.name for i in page]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == [f"n{i:03d}" for i in range(250)]

    @pytest.mark.parametrize("order", ["-name", "type", "-type", "updated", "-updated"])
    def test_orders_page_consistently(self, tree, order):
        folder(tree, "/m")
        for i in range(7):
            if i % 2:
                folder(tree, f"/m/i{i}")
            else:
                tree.create(f"/m/i{i}", "Document", {"title": str(i)})
        whole = [i.name for i in tree.list("/m", order=order, limit=100)]
        paged, cursor = [], None
        while True:
            page = tree.list("/m", order=order, limit=2, cursor=cursor)
            paged += [i.name for i in page]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert paged == whole and len(whole) == 7

    def test_bad_cursor_and_order(self, tree):
        with pytest.raises(ValidationError, match="not a cursor"):
            tree.list("/", cursor="garbage!")
        with pytest.raises(ValidationError, match="order 'size'"):
            tree.list("/", order="size")

    def test_listing_a_missing_folder(self, tree):
        with pytest.raises(NotFound, match="/nope: no such item"):
            tree.list("/nope")


class TestMoveCopyDelete:
    def build(self, tree):
        folder(tree, "/a")
        folder(tree, "/a/b")
        tree.create("/a/b/c", "Document", {"title": "c"})
        folder(tree, "/a-side")

    def test_move_subtree(self, tree):
        self.build(tree)
        tree.move("/a", "/z")
        assert tree.get("/z/b/c").attributes["title"] == "c"
        assert tree.get("/z/b").parent_id == tree.get("/z").id
        assert not exists(tree, "/a/b/c")
        assert exists(tree, "/a-side")  # a sibling sharing the prefix is untouched

    def test_move_into_folder_and_rename(self, tree):
        self.build(tree)
        tree.move("/a/b/c", "/a-side")
        assert tree.get("/a-side/c").type == "Document"
        tree.move("/a-side/c", "/a-side/renamed")
        assert [i.name for i in tree.list("/a-side")] == ["renamed"]

    def test_move_into_itself_refused(self, tree):
        self.build(tree)
        before = snapshot(tree)
        with pytest.raises(InvalidPath, match="into itself"):
            tree.move("/a", "/a/b/x")
        with pytest.raises(NotFound, match="parent folder does not exist"):
            tree.move("/a", "/none/x")
        assert snapshot(tree) == before

    def test_copy_subtree(self, tree):
        self.build(tree)
        copy = tree.copy("/a", "/copy")
        assert copy.id != tree.get("/a").id
        assert tree.get("/copy/b/c").attributes["title"] == "c"
        assert tree.get("/copy/b").parent_id == copy.id
        assert tree.get("/a/b/c").id != tree.get("/copy/b/c").id
        tree.update("/copy/b/c", {"title": "changed"})
        assert tree.get("/a/b/c").attributes["title"] == "c"

    def test_delete(self, tree):
        self.build(tree)
        with pytest.raises(NotEmpty, match="/a: not empty"):
            tree.delete("/a")
        assert tree.delete("/a", recursive=True) == 3
        assert exists(tree, "/a-side")
        assert not exists(tree, "/a/b")
        with pytest.raises(ValidationError, match="built-in"):
            tree.delete("/types", recursive=True)


class TestSearch:
    def test_find_by_type_and_name(self, tree):
        folder(tree, "/p")
        tree.create("/p/notes", "Document", {"title": "n"})
        tree.create("/p/other", "Document", {"title": "o"})
        folder(tree, "/p/nested")
        found = tree.find("/", type_name="Document", name_glob="no*")
        assert [i.path for i in found] == ["/p/notes"]
        assert [i.path for i in tree.find("/p", max_depth=1)] == ["/p/nested", "/p/notes", "/p/other"]
        with pytest.raises(NotFound, match="unknown type"):
            tree.find("/", type_name="Nope")


@pytest.mark.store_access
class TestTransfer:
    def test_round_trip_is_exact(self, tree):
        folder(tree, "/src")
        tree.create("/src/doc", "Document", {"title": "T", "body": "line1\nline2"})
        folder(tree, "/src/a")
        folder(tree, "/src/a-b")
        tree.create("/src/a/f", "File", {"content_type": "text/plain"})
        exported = export_tree(tree, "/src")
        tree.delete("/src", recursive=True)
        root, count = import_tree(tree, exported, "/src")
        assert count == 5 and root.path == "/src"
        assert export_tree(tree, "/src") == exported

    def test_import_into_folder_uses_exported_name(self, tree):
        folder(tree, "/src")
        exported = export_tree(tree, "/src")
        folder(tree, "/dest")
        root, _ = import_tree(tree, exported, "/dest")
        assert root.path == "/dest/src"

    def test_bad_import_changes_nothing(self, tree):
        folder(tree, "/src")
        tree.create("/src/doc", "Document", {"title": "T"})
        exported = export_tree(tree, "/src")
        exported["items"][1]["attributes"] = {"title": 5}
        before = snapshot(tree)
        with pytest.raises(ValidationError, match=r"items\[1\] \(doc\): attribute 'title' expects string"):
            import_tree(tree, exported, "/copy")
        assert snapshot(tree) == before


@pytest.mark.store_access
class TestTransactions:
    def test_failure_inside_a_transaction_rolls_back(self, tree):
        before = snapshot(tree)
        with pytest.raises(AlreadyExists), tree.provider.transaction():
            folder(tree, "/t1")
            folder(tree, "/t1/x")
            folder(tree, "/t1")
        assert snapshot(tree) == before


class TestSecrets:
    def test_secret_attributes_are_redacted_for_display(self, tree):
        tree.create("/types/Login", "Type", {"definition": {
            "name": "Login", "base": "Item", "attributes": {"user": "string", "password": "secret"}}})
        item = tree.create("/l", "Login", {"user": "u", "password": "hunter2"})
        shown = tree.shown(item)
        assert shown.attributes == {"user": "u", "password": "<redacted>"}
        assert "hunter2" not in repr(shown) and "hunter2" not in repr(tree.get("/l"))
        assert tree.reveal("/l").attributes["password"] == "hunter2"
        tree.update("/l", {"user": "v"})  # other changes leave the secret as it was
        assert tree.reveal("/l").attributes["password"] == "hunter2"
        tree.update("/l", {"password": "new"})
        assert tree.reveal("/l").attributes["password"] == "new"

    @pytest.mark.store_access
    def test_secrets_are_encrypted_at_rest_and_in_exports(self, tree):
        tree.create("/types/Login", "Type", {"definition": {
            "name": "Login", "base": "Item", "attributes": {"user": "string", "password": "secret"}}})
        item = tree.create("/l", "Login", {"user": "u", "password": "new"})
        assert item.attributes["password"].startswith("fernet:")
        exported = export_tree(tree, "/l")
        assert "new" not in repr(exported)
        import_tree(tree, exported, "/l2")
        assert tree.reveal("/l2").attributes["password"] == "new"


class TestAttributeText:
    def test_nul_in_text_is_refused_everywhere(self, tree):
        with pytest.raises(ValidationError, match="must not contain NUL"):
            tree.create("/d", "Document", {"title": "a\x00b"})
        tree.create("/types/Blob", "Type", {"definition": {"name": "Blob", "base": "Item",
                                                           "attributes": {"data": "json"}}})
        with pytest.raises(ValidationError, match="must not contain NUL"):
            tree.create("/b", "Blob", {"data": {"k": ["x\x00"]}})

    def test_unicode_and_long_text_round_trip(self, tree):
        body = "ünïcødé ☃ \U0001f600\n" * 2000
        tree.create("/d", "Document", {"title": "t", "body": body})
        assert tree.get("/d").attributes["body"] == body


@pytest.mark.store_access
class TestAclGeneration:
    def test_every_acl_change_moves_the_generation(self, tree):
        from realnet.core.item import ItemDraft

        provider = tree.provider
        entry = [{"principal": "group:authenticated", "permissions": ["read"]}]
        steps = [
            lambda: folder(tree, "/g"),
            lambda: provider.set_acl("/g", entry),
            lambda: folder(tree, "/g/inner"),
            lambda: provider.move("/g", "/h"),
            lambda: provider.copy("/h", "/k", owner="admin"),
            lambda: provider.create(ItemDraft(path="/n", type="Folder", owner="admin", acl=tuple(entry))),
            lambda: provider.insert_many([ItemDraft(path="/m", type="Folder", owner="admin", acl=tuple(entry))]),
            lambda: provider.delete("/k", recursive=True),
        ]
        moved = [False, True, False, True, True, True, True, True]
        for step, should_move in zip(steps, moved, strict=True):
            before = provider.acl_generation()
            step()
            assert (provider.acl_generation() != before) is should_move, step

    def test_cached_grants_are_dropped_when_they_change(self, tree):
        from realnet.resources.accounts import Directory, grant, revoke

        Directory(tree).add_user("zed", password=None)
        folder(tree, "/shared")
        reader = Context(tree.provider, tree.resources, init_directories=tree.init_directories,
                         principal="zed", secrets=tree.secrets)
        with pytest.raises(NotFound):
            reader.get("/shared")
        grant(tree, "/shared", "zed", ("read",))
        reader.refresh()
        assert reader.get("/shared").path == "/shared"
        revoke(tree, "/shared", "zed", None)
        reader.refresh()
        with pytest.raises(NotFound):
            reader.get("/shared")
