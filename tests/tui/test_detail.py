"""The detail pane: history, attributes with secrets redacted, permissions with their
source, and a preview of text content (images: metadata only)."""

from __future__ import annotations

from rich.console import Console
from tuikit import SIZE, run, screenshot, settle, until

from realnet.commands.session import Session
from realnet.core.context import REDACTED
from realnet.resources.accounts import Directory, grant
from realnet.tui.app import RealnetApp
from realnet.tui.detail import render_detail

LOGIN = {"name": "Login", "base": "Item", "attributes": {"user": "string", "password": "secret"}}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


def shown_text(app: RealnetApp) -> str:
    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render_detail(app.detail.detail))
    return console.export_text()


def test_the_detail_pane_redacts_secrets_and_shows_where_permissions_come_from(context):
    context.create("/types/Login", "Type", {"definition": LOGIN})
    Directory(context).add_user("alice", password=None)
    context.create("/projects", "Folder")
    context.create("/projects/db", "Login", {"user": "app", "password": "hunter2-very-secret"})
    grant(context, "/projects", "alice", ("read", "write"))
    context.provider.close()
    session = Session(acting_as="alice")

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_folder("/projects")
            await until(pilot, lambda: app.detail.detail is not None
                        and app.detail.detail.item.path == "/projects/db", "the detail of /projects/db")
            detail = app.detail.detail
            assert detail.item.attributes["password"] == REDACTED
            assert detail.item.attributes["user"] == "app"
            granted = {p.permission: (p.source, p.principal) for p in detail.permissions}
            assert granted == {"read": ("/projects", "user:alice"), "write": ("/projects", "user:alice")}
            text = shown_text(app)
            assert "hunter2" not in text and REDACTED in text
            assert "version" in text and "owner" in text and "from /projects (user:alice)" in text
            screenshot(app, "detail-secret-redacted")

    run(scenario)


def test_the_detail_pane_previews_text_and_shows_only_metadata_for_images(context):
    context.create("/files", "Folder")
    context.put_content("/files/notes.txt", [b"first line\nsecond line\n"], content_type="text/plain")
    context.put_content("/files/big.json", [b'{"k": "' + b"x" * 10_000 + b'"}'],
                        content_type="application/json")
    context.put_content("/files/pic.png", [PNG], content_type="image/png")
    context.put_content("/files/blob.bin", [bytes(range(256))], content_type="application/octet-stream")
    context.provider.close()
    session = Session()

    async def scenario():
        app = RealnetApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_folder("/files")
            await settle(pilot)
            app.table.focus()
            seen = {}
            for _ in range(4):
                await settle(pilot)
                detail = app.detail.detail
                seen[detail.item.name] = detail
                if detail.item.name == "notes.txt":
                    screenshot(app, "detail-text-preview")
                await pilot.press("down")
            assert seen["notes.txt"].preview == "first line\nsecond line\n"
            big = seen["big.json"]
            assert len(big.preview) == 4096 and big.note == "first 4,096 of 10,009 bytes"
            assert seen["pic.png"].preview is None and seen["pic.png"].note.startswith("image (image/png")
            assert "metadata only" in seen["pic.png"].note
            assert seen["blob.bin"].preview is None
            history = shown_text(app)
            assert "created" in history and "updated" in history

    run(scenario)
