"""Help, read-only mode, the small screen, and the ways into the forms and the runners panel."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Label
from tuikit import SIZE, run, screenshot, settle, until

from realnet.commands.session import Session
from realnet.core.errors import NotFound
from realnet.tui.app import RealnetApp
from realnet.tui.detail import DetailPane
from realnet.tui.help import HelpScreen
from realnet.tui.table import ChildrenTable
from realnet.tui.tree import ResourceTree


def test_question_mark_lists_every_key_and_escape_closes_it():
    session = Session()

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            keys = [row[0] for row in app.screen.rows]
            for key in ("q", "?", "n", "e", "d", "r", "/", "Enter", "Ctrl+P", "1", "4"):
                assert key in keys, key
            screenshot(app, "help")
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)

    run(scenario)


def test_read_only_mode_refuses_every_change():
    session = Session()
    session.context.create("/keep", "Folder")

    async def scenario():
        app = RealnetApp(session, read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert str(app.query_one("#read-only-mark", Label).render()) == "READ-ONLY"
            shown = {b.key for _, b, enabled, _ in app.screen.active_bindings.values() if b.show and enabled}
            assert {"q", "question_mark", "r"} <= shown and not {"n", "e", "d"} & shown
            base = len(app.screen_stack)
            app.table.focus()
            for key in ("n", "e", "d"):
                await pilot.press(key)
                await settle(pilot)
                assert len(app.screen_stack) == base, key  # no form, no confirmation
            assert app.check_action("new_item", ()) is False
            assert app.check_action("delete_item", ()) is False
            commands = [c.title for c in app.get_system_commands(app.screen)]
            assert "Go to path" in commands and "Quit" in commands
            assert not {"New item", "Edit item", "Delete item"} & set(commands)
            assert session.context.get("/keep").path == "/keep"
            screenshot(app, "read-only")

    run(scenario)


def test_the_dashboard_fits_80_by_24():
    session = Session()

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for kind in (ResourceTree, ChildrenTable, DetailPane):
                region = app.query_one(kind).region
                assert region.width >= 20 and region.height >= 5, (kind, region)
                assert region.right <= 80 and region.bottom <= 24
            assert [i.name for i in app.table.items] == ["apps", "clusters", "home", "system", "types"]
            screenshot(app, "80x24")

    run(scenario)


def test_d_asks_with_the_count_and_deletes_then_the_table_and_tree_follow():
    session = Session()
    context = session.context
    context.create("/work/old/a", "Folder", parents=True)
    context.create("/work/old/b", "Folder")
    context.create("/work/keep", "Folder")

    async def scenario():
        from realnet.tui.confirm import ConfirmDelete

        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            work = next(n for n in app.tree.root.children[0].children if n.data.path == "/work")
            work.expand()
            app.open_folder("/work")
            await settle(pilot)
            assert [str(n.label) for n in work.children] == ["keep", "old"]
            keep = work.children[0]
            app.table.focus()
            await pilot.press("down")  # keep → old
            await settle(pilot)
            assert app.table.current_item().name == "old"
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDelete), "the confirmation")
            assert app.screen.count == 2 and app.screen.path == "/work/old"
            screenshot(app, "confirm-delete")
            await pilot.press("y")
            await settle(pilot)
            assert [i.name for i in app.table.items] == ["keep"]
            assert list(work.children) == [keep]  # the sibling's node stays as it was
            assert app.detail.detail.item.path == "/work/keep"  # the cursor's new row
            assert not [n for n in app._notifications if n.severity == "error"]
            try:
                context.get("/work/old")
                raise AssertionError("/work/old is still there")
            except NotFound:
                pass

    run(scenario)


def test_n_opens_the_create_form_on_the_folder_shown_and_a_save_shows_the_new_item():
    session = Session()
    context = session.context
    context.create("/inbox", "Folder")

    async def scenario():
        from realnet.tui.forms import ItemForm

        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_folder("/inbox")
            await settle(pilot)
            app.table.focus()
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, ItemForm), "the create form")
            assert app.screen.parent_path == "/inbox"
            # What the form does is its own tests' business: here, a save that it reports.
            created = context.create("/inbox/fresh", "Folder")
            app.screen.dismiss(created)
            await settle(pilot)
            assert [i.name for i in app.table.items] == ["fresh"]
            assert app.table.current_item().name == "fresh"

    run(scenario)


def test_e_opens_the_edit_form_on_the_item_under_the_cursor():
    session = Session()
    session.context.create("/docs", "Folder")
    session.context.create("/docs/plan", "Document", {"title": "Plan"})

    async def scenario():
        from realnet.tui.forms import ItemForm

        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_folder("/docs")
            await settle(pilot)
            app.table.focus()
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ItemForm), "the edit form")
            assert app.screen.item.path == "/docs/plan"
            await settle(pilot)
            screenshot(app, "edit-form")
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, ItemForm)
            assert app.detail.detail.item.version == 1
            # A save the form reports: the row and the detail pane show the new version.
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ItemForm), "the edit form again")
            saved = session.context.update("/docs/plan", {"title": "Plan v2"})
            app.screen.dismiss(saved)
            await settle(pilot)
            assert app.table.current_item().version == 2
            assert app.detail.detail.item.attributes["title"] == "Plan v2"

    run(scenario)


def test_r_toggles_the_runners_panel():
    session = Session()

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("r")
            await settle(pilot)
            dock = app.query_one("#runners-dock")
            assert dock.has_class("-open") and dock.children
            assert dock.query_one(DataTable).row_count == 2  # http and sqs
            screenshot(app, "runners-panel")
            await pilot.press("r")
            await settle(pilot)
            assert not dock.has_class("-open")
            assert app.owns_runners and app.session.runners.running() == []

    run(scenario)


def test_the_filter_input_takes_letters_that_are_keys_elsewhere():
    session = Session()

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.table.focus()
            await pilot.press("slash", *"qdnr")
            assert app.query_one("#filter", Input).value == "qdnr"
            assert app.is_running and len(app.screen_stack) == 1

    run(scenario)
