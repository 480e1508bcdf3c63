"""Export a subtree as one document and import it back, exactly.

The document is the same whether written as JSON or YAML::

    format: realnet-export
    version: 1
    root: /projects            # where it was exported from (informative)
    items:                     # parents before children, in path order
      - {path: ".", type: Folder, owner: admin, created: …, updated: …, attributes: {}}
      - {path: notes, type: Document, …}

Import checks every entry (names, types, allowed children, attributes) before it
writes anything, then inserts all items in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from realnet.core import paths
from realnet.core.access import check_entries
from realnet.core.errors import AlreadyExists, NotFound, PermissionDenied, ValidationError
from realnet.core.item import Item, ItemDraft

if TYPE_CHECKING:
    from realnet.core.context import Context

FORMAT = "realnet-export"
VERSION = 1
SHA256 = re.compile(r"[0-9a-f]{64}")  # fullmatch
ENTRY_KEYS = {"path", "type", "owner", "created", "updated", "attributes", "acl"}


def _entry(item: Item, root: str, with_acl: bool = True) -> dict[str, Any]:
    relative = "." if item.path == root else item.path[len(root):].lstrip("/")
    return {
        "path": relative,
        "type": item.type,
        "owner": item.owner,
        "created": item.created,
        "updated": item.updated,
        "attributes": dict(item.attributes),
        **({"acl": [dict(e) for e in item.acl]} if item.acl and with_acl else {}),
    }


def exported_items(context: Context, path: str) -> list[Item]:
    """The item at ``path`` and what the principal sees below it, parents before children.

    Below a mount, that is what the mount holds. Above one, it is the store's items only:
    a mount travels as its settings, as an archive of a disk keeps a mount point, not the
    mounted files."""
    top = context.get(path)
    root = top.path
    visible = context.guard.visibility(root)
    source = context.provider
    if context.provider.mount_of(root) is None:
        source = context.store
        top = source.get(root)
    below = list(source.walk(root, page_size=5000, visible=visible))
    if visible is not None:  # drop what the principal sees only through a hidden parent
        kept = {root}
        for item in sorted(below, key=lambda i: i.path.split("/")):
            if paths.parent_of(item.path) in kept:
                kept.add(item.path)
        below = [i for i in below if i.path in kept]
    # Path order puts "a-b" between "a" and "a/c"; sort by segments so parents lead.
    return [top, *sorted(below, key=lambda i: i.path.split("/"))]


def export_document(context: Context, items: list[Item]) -> dict[str, Any]:
    """The export document of ``items`` (as ``exported_items`` gives them)."""
    root = items[0].path
    # ACL entries travel only for admins, who alone may import them again.
    admin = context.guard.is_admin
    entries = [_entry(item, root, admin) for item in items]
    return {"format": FORMAT, "version": VERSION, "root": root, "items": entries}


def export_tree(context: Context, path: str) -> dict[str, Any]:
    return export_document(context, exported_items(context, path))


def _check_document(doc: Any, source: str) -> list[Mapping[str, Any]]:
    if not isinstance(doc, Mapping):
        raise ValidationError(f"{source}: expected a mapping with 'format' and 'items'")
    if doc.get("format") != FORMAT:
        raise ValidationError(f"{source}: 'format' must be {FORMAT!r}, got {doc.get('format')!r}")
    if doc.get("version") != VERSION:
        raise ValidationError(f"{source}: 'version' must be {VERSION}, got {doc.get('version')!r}")
    entries = doc.get("items")
    if not isinstance(entries, list) or not entries:
        raise ValidationError(f"{source}: 'items' must be a non-empty list")
    return entries


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Checked drafts of an import, and (with content) what each file's bytes must be."""

    target: str
    drafts: list[ItemDraft]
    content: dict[int, tuple[str, int]]  # draft index -> (sha256, size) the bytes must have


def import_tree(
    context: Context, doc: Any, path: str, *, source: str = "import"
) -> tuple[Item, int]:
    """Create the exported subtree at ``path`` (or inside it, when it is a folder)."""
    return commit_import(context, plan_import(context, doc, path, source=source))


def commit_import(context: Context, plan: ImportPlan) -> tuple[Item, int]:
    """Insert the planned items in one transaction."""
    with context.provider.transaction():
        if context.provider.exists(plan.target):
            raise AlreadyExists(plan.target)
        context.provider.insert_many(plan.drafts)
    context._after_write(plan.target)
    return context.provider.get(plan.target), len(plan.drafts)


def plan_import(context: Context, doc: Any, path: str, *, source: str = "import",
                with_content: bool = False) -> ImportPlan:
    """Check every entry of an export document before anything is written.

    ``with_content``: the bytes travel with the document (an archive), so file entries'
    ``sha256`` and ``size`` say what those bytes must be, and any ``storage_key`` in the
    document is dropped: the import stores the bytes under keys of its own.
    """
    entries = _check_document(doc, source)
    target = paths.normalize(path)
    first = entries[0]
    if not isinstance(first, Mapping) or first.get("path") != ".":
        raise ValidationError(f"{source}: items[0] must be the exported root, with path '.'")
    existing = context._exists_for_me(target)
    if existing is not None:
        if not context.can_hold_children(existing):
            raise AlreadyExists(target)
        exported_root = doc.get("root")
        name = paths.name_of(exported_root) if isinstance(exported_root, str) else ""
        if not name:
            raise ValidationError(f"{source}: 'root' must name the exported item to import into {target}")
        target = paths.join(target, paths.check_name(name, where=f"{source}: root"))

    registry = context.types
    parent = context._exists_for_me(paths.parent_of(target))
    if parent is None:
        raise NotFound(paths.parent_of(target), "parent folder does not exist")
    try:
        context.guard.require(parent, "create")
    except NotFound:
        raise PermissionDenied(f"{parent.path}: {context.principal} may not create here") from None
    types_at: dict[str, str] = {paths.parent_of(target): parent.type}
    resources: dict[str, Any] = {}
    drafts: list[ItemDraft] = []
    content: dict[int, tuple[str, int]] = {}
    for index, entry in enumerate(entries):
        where = f"{source}: items[{index}]"
        if not isinstance(entry, Mapping):
            raise ValidationError(f"{where}: expected a mapping")
        unknown = entry.keys() - ENTRY_KEYS
        if unknown:
            raise ValidationError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        relative = entry.get("path")
        if not isinstance(relative, str) or not relative:
            raise ValidationError(f"{where}: 'path' must be a relative path")
        if index and (relative == "." or relative.startswith("/")):
            raise ValidationError(f"{where}: 'path' must be relative to the exported root")
        if relative == ".":
            item_path, parent_path = target, paths.parent_of(target)
        else:
            head, _, name = relative.rpartition("/")
            paths.check_name(name, where=f"{where}: path {relative!r}")
            parent_path = f"{target}/{head}" if head else target
            item_path = f"{parent_path}/{name}" if parent_path != paths.ROOT else f"/{name}"
        where = f"{where} ({relative})"
        parent_type = types_at.get(parent_path)
        if parent_type is None:
            raise ValidationError(f"{where}: its parent must come before it in the file")
        if item_path in types_at:
            raise ValidationError(f"{where}: listed twice")
        type_name = entry.get("type")
        if not isinstance(type_name, str):
            raise ValidationError(f"{where}: 'type' must name a type")
        registry.check_creatable(type_name, where=where)
        if parent_type in registry:
            registry.check_child(parent_type, type_name, where=where)
        attributes = entry.get("attributes", {})
        if not isinstance(attributes, Mapping):
            raise ValidationError(f"{where}: 'attributes' must be a mapping")
        if with_content:
            attributes, wanted = _content_of(context, type_name, attributes, where)
            if wanted is not None:
                content[len(drafts)] = wanted
        if not context.guard.is_admin:
            # Naming a storage key would read bytes the importer may not see; only admins,
            # who may read everything anyway, restore items that name existing content.
            from realnet.core.content import refuse_managed

            refuse_managed(context, type_name, attributes, where)
        checked = registry.validate(type_name, attributes, where=where, fill_defaults=False)
        resource = resources.get(type_name)
        if resource is None:
            resource = resources[type_name] = context.resource(type_name)
        resource.check(item_path, type_name, checked)  # the same checks as create, mounts' included
        context.seal(type_name, checked, list(checked), keep_ciphertext=context.guard.is_admin)
        stamps = {stamp: _timestamp(entry.get(stamp), f"{where}: '{stamp}'")
                  for stamp in ("created", "updated")}
        owner = entry.get("owner") or context.principal
        if not isinstance(owner, str):
            raise ValidationError(f"{where}: 'owner' must be a name")
        if not context.guard.is_admin:
            owner = context.principal  # only admins restore other owners
        acl = check_entries(entry["acl"], where) if "acl" in entry else ()
        if acl and not context.guard.is_admin:
            raise PermissionDenied(f"{where}: only members of 'admins' may import ACL entries")
        types_at[item_path] = type_name
        drafts.append(ItemDraft(path=item_path, type=type_name, owner=owner, attributes=checked,
                                created=stamps["created"], updated=stamps["updated"], acl=acl))
    return ImportPlan(target, drafts, content)


def _timestamp(value: Any, label: str) -> str | None:
    """An imported time in the one form the stores keep, compare and page by as text: UTC,
    to the microsecond. A time without a zone is taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            pass
        else:
            return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    raise ValidationError(f"{label} must be an ISO 8601 timestamp, got {value!r}")


def _content_of(context: Context, type_name: str, attributes: Mapping[str, Any],
                where: str) -> tuple[dict[str, Any], tuple[str, int] | None]:
    """A file entry's attributes without the content fields, and the content it names."""
    from realnet.core.content import FILE_TYPE, MANAGED

    if not context.types.is_a(type_name, FILE_TYPE):
        return dict(attributes), None
    kept = {k: v for k, v in attributes.items() if k not in MANAGED}
    sha = attributes.get("sha256")
    if sha is None:
        return kept, None
    size = attributes.get("size")
    if not isinstance(sha, str) or not SHA256.fullmatch(sha):
        raise ValidationError(f"{where}: 'sha256' must be 64 lowercase hex digits")
    if type(size) is not int or size < 0:
        raise ValidationError(f"{where}: 'size' must be the content's size in bytes")
    return kept, (sha, size)
