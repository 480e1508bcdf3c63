"""Moving around the dashboard: the tree, opening folders, paging, sorting, filtering, go-to.

Each test drives the real app on a real store with Textual's pilot and asserts on the
widgets' state; the SVG screenshots it writes are for people, never compared.
"""

from __future__ import annotations

from textual.widgets import Input
from tuikit import SIZE, fill, run, screenshot, settle, until

from realnet.commands.session import Session
from realnet.tui.app import RealnetApp
from realnet.tui.tree import MORE


def names(app: RealnetApp) -> list[str]:
    return [item.name for item in app.table.items]


def node_labels(node) -> list[str]:
    return [str(child.label).split("  ")[0] for child in node.children]


def test_tree_shows_the_apps_as_sections_and_loads_folders_lazily():
    session = Session()
    context = session.context
    context.create("/projects/alpha", "Folder", parents=True)
    context.create("/projects/notes", "Document", {"title": "Notes"})
    context.create("/apps/projects", "App", {"title": "Projects", "root": "/projects"})

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            sections = app.tree.root.children
            # The app rooted at / comes first (the dashboard opens on it), the others by name.
            assert [str(s.label).split("  ")[0] for s in sections] == ["Explorer", "Clusters", "Projects"]
            explorer, clusters, projects = sections
            assert not clusters.children and not projects.children  # nothing asked of the store yet
            assert node_labels(explorer) == ["apps", "clusters", "home", "projects", "system", "types"]
            projects.expand()
            await settle(pilot)
            # Only what can hold children is a node: the Document is not.
            assert node_labels(projects) == ["alpha"]
            assert app.table.path == "/"
            screenshot(app, "tree-sections")

    run(scenario)


def test_the_tree_pages_with_a_more_node():
    session = Session()
    context = session.context
    context.create("/many", "Folder")
    for n in range(230):
        context.create(f"/many/f{n:03d}", "Folder")

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            explorer = app.tree.root.children[0]
            many = next(n for n in explorer.children if n.data.path == "/many")
            many.expand()
            await settle(pilot)
            labels = node_labels(many)
            assert len(labels) == 201 and labels[-1] == MORE and labels[0] == "f000"
            app.tree.focus()
            app.tree.move_cursor(many.children[-1])
            await pilot.press("enter")
            await settle(pilot)
            labels = node_labels(many)
            assert len(labels) == 230 and MORE not in labels and labels[-1] == "f229"

    run(scenario)


def test_moving_in_the_tree_shows_that_folder_and_enter_in_the_table_opens_one():
    session = Session()
    context = session.context
    context.create("/projects/alpha", "Folder", parents=True)
    context.create("/projects/alpha/inner", "Document", {"title": "Inner"})

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.tree.focus()
            await pilot.press("down")  # Explorer → apps
            await until(pilot, lambda: app.table.path == "/apps" and not app.table.fetching, "/apps shown")
            assert names(app) == ["clusters", "explorer"]
            await pilot.press("down", "down", "down")  # → clusters → home → projects
            await until(pilot, lambda: app.table.path == "/projects" and not app.table.fetching,
                        "/projects shown")
            assert names(app) == ["alpha"]
            await pilot.press("enter")  # opens the node: its folders load
            await settle(pilot)
            projects = app.tree.cursor_node
            assert projects.is_expanded and [str(n.label) for n in projects.children] == ["alpha"]
            app.table.focus()
            await pilot.press("enter")
            await until(pilot, lambda: app.table.path == "/projects/alpha" and not app.table.fetching,
                        "alpha opened")
            assert names(app) == ["inner"]
            assert app.tree.cursor_node.data.path == "/projects/alpha"  # the tree follows what it has
            screenshot(app, "folder-opened")
            await pilot.press("backspace")
            await until(pilot, lambda: app.table.path == "/projects" and not app.table.fetching,
                        "back up")
            assert app.table.current_item().name == "alpha"  # the cursor is where we came from
            await pilot.press("enter")  # a Document does not open; a folder does
            await until(pilot, lambda: app.table.path == "/projects/alpha", "alpha again")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert app.table.path == "/projects/alpha"

    run(scenario)


def test_a_big_folder_opens_with_one_page_and_grows_as_the_cursor_moves_down():
    session = Session()
    fill(session.context, "/big", 1_100)

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_folder("/big")
            await until(pilot, lambda: app.table.path == "/big" and app.table.row_count > 0, "/big shown")
            await settle(pilot)
            assert app.table.row_count == 200
            assert "more below" in app.table.describe()
            app.table.focus()
            await pilot.press("down", "down", "pagedown")
            await settle(pilot)
            assert app.table.row_count == 200  # far from the end: nothing more asked
            app.table.move_cursor(row=159)  # one step before the last 40 rows (NEAR_END)
            await pilot.press("down")
            await settle(pilot)
            assert app.table.row_count == 400  # the next page came as the cursor neared the end
            assert names(app)[:3] == ["d0000", "d0001", "d0002"] and names(app)[-1] == "d0399"
            screenshot(app, "big-folder")
            await pilot.press("end")  # the last loaded row: the next page again
            await settle(pilot)
            assert app.table.row_count == 600
            for _ in range(3):
                await pilot.press("end")
                await settle(pilot)
            assert app.table.row_count == 1_100 and "more below" not in app.table.describe()
            assert names(app) == [f"d{n:04d}" for n in range(1_100)]  # every row once, in order

    run(scenario)


def test_sorting_by_key_and_by_clicking_a_header():
    session = Session()
    context = session.context
    context.create("/s", "Folder")
    context.create("/s/b-doc", "Document", {"title": "B"})
    context.create("/s/a-folder", "Folder")
    context.create("/s/c-link", "Link", {"target": "/s"})

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_folder("/s")
            await settle(pilot)
            assert names(app) == ["a-folder", "b-doc", "c-link"]
            await pilot.press("1")  # name again: descending
            await settle(pilot)
            assert names(app) == ["c-link", "b-doc", "a-folder"]
            assert app.table.sort.order == "-name"
            await pilot.press("2")  # by type
            await settle(pilot)
            assert [i.type for i in app.table.items] == ["Document", "Folder", "Link"]
            await pilot.press("2")
            await settle(pilot)
            assert [i.type for i in app.table.items] == ["Link", "Folder", "Document"]
            await pilot.press("3")  # size: the store cannot, the order stays
            await settle(pilot)
            assert app.table.sort.order == "-type"
            # A click on the 'name' heading sorts by name (ascending: another column before).
            await pilot.click("#children", offset=(2, 0))
            await settle(pilot)
            assert app.table.sort.order == "name"
            assert names(app) == ["a-folder", "b-doc", "c-link"]
            screenshot(app, "sorted")

    run(scenario)


def test_slash_filters_the_children_by_name():
    session = Session()
    context = session.context
    fill(context, "/f", 300)
    context.create("/f/special-report", "Document", {"title": "R"})
    context.create("/f/other-special", "Document", {"title": "O"})

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_folder("/f")
            await settle(pilot)
            app.table.focus()
            await pilot.press("slash")
            box = app.query_one("#filter", Input)
            assert box.display and box.has_focus
            await pilot.press(*"special")
            screenshot(app, "filter-typing")
            await pilot.press("enter")
            await settle(pilot)
            assert names(app) == ["other-special", "special-report"]  # *special*
            assert app.table.glob == "*special*" and app.table.has_focus
            screenshot(app, "filtered")
            await pilot.press("2")  # a search has only name order: sorting waits for Esc
            await settle(pilot)
            assert app.table.sort.order == "name" and names(app) == ["other-special", "special-report"]
            await pilot.press("slash")
            box.value = ""
            await pilot.press(*"d02?9", "enter")  # a glob as typed
            await settle(pilot)
            assert names(app) == ["d0209", "d0219", "d0229", "d0239", "d0249", "d0259", "d0269",
                                  "d0279", "d0289", "d0299"]
            await pilot.press("escape")  # clears the filter
            await settle(pilot)
            assert app.table.glob is None and app.table.row_count == 200

    run(scenario)


def test_the_palette_goes_to_a_path():
    session = Session()
    context = session.context
    context.create("/projects/deep/down", "Folder", parents=True)
    context.create("/projects/deep/down/leaf", "Document", {"title": "Leaf"})

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("ctrl+p")
            await pilot.press(*"/projects/deep/do")
            await pilot.pause(0.3)  # the palette searches after a short pause in typing
            await settle(pilot)
            screenshot(app, "palette-go-to")
            await pilot.press("enter")
            await until(pilot, lambda: app.table.path == "/projects/deep/down" and not app.table.fetching,
                        "went to /projects/deep/down")
            assert names(app) == ["leaf"]
            # An item that is not a folder shows in its folder, with the cursor on it.
            app.go_to("/projects/deep/down/leaf")
            await settle(pilot)
            assert app.table.path == "/projects/deep/down"
            assert app.table.current_item().name == "leaf"
            app.go_to("/nowhere")
            await settle(pilot)
            assert app.table.path == "/projects/deep/down"  # a failure changes nothing...
            shown = [n.message for n in app._notifications]
            assert len([m for m in shown if "/nowhere" in m]) == 1, shown  # ...but says so, once

    run(scenario)


def test_the_dashboard_opens_at_the_folder_it_is_given():
    session = Session()
    session.context.create("/projects/alpha", "Folder", parents=True)

    async def scenario():
        app = RealnetApp(session, start="/projects")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.table.path == "/projects" and names(app) == ["alpha"]

    run(scenario)
