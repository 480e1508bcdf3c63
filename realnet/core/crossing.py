"""Copying and moving between providers: from a document into the store, from the store
into a local folder, and so on.

The subtree is read from its provider, each item adapted to what the target can hold
(a folder copied into a document becomes an object; anything copied onto disk must be
a folder or a file), and written through the mount table in one transaction: the store
rolls back and documents are left untouched when anything is refused. A move deletes
the source in the same transaction, and the stored bytes of its files once that has
committed; a local folder, which has no transactions, loses the source only after the
copy has committed. A move is refused before anything is written when the source holds
what no item shows (a copy cannot carry it) or cannot be changed. File content is
streamed from where it is to where it goes; bytes written to content storage by a copy
that then failed are left for ``storage gc``, and files written into a local folder
stay (disks have no transactions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from realnet.core import content
from realnet.core.content import FILE_TYPE, store_of
from realnet.core.errors import AlreadyExists, RealnetError, StoreError, ValidationError
from realnet.core.item import Item, ItemDraft
from realnet.providers.mounted import MountedProvider

if TYPE_CHECKING:
    from realnet.core.context import Context
    from realnet.providers.base import Provider


def _subtree(provider: Provider, top: Item) -> list[Item]:
    root = top.path
    if isinstance(provider, MountedProvider):
        if not provider.has_children(top):
            return []
        return sorted(provider.all_items(root, None), key=lambda i: i.path)
    return list(provider.walk(root))


def relocate_across(context: Context, source: str, target: str, *, copy: bool) -> Item:
    table = context.provider
    origin = table.content_owner(source) if copy else table.owner_of(source)
    destination = table.owner_of(target)
    mount_types = table.catalogue.mount_types()
    if not copy and table.is_mount(source):
        raise ValidationError(f"{source}: a mount moves only within the store, not into {target}")
    moving_out = not copy and isinstance(origin, MountedProvider)
    if moving_out:
        origin.check_writable(source)
    top = origin.root_node() if isinstance(origin, MountedProvider) and source == origin.base \
        else origin.get(source)
    if isinstance(destination, MountedProvider):
        destination.check_writable(target)
    if moving_out:
        _refuse_losses(origin, source, target)
    items = [top, *_subtree(origin, top)]
    drafts = []
    for item in items:
        if item.type in mount_types:
            raise ValidationError(f"{item.path}: a mount cannot be copied into {target}; copy what it holds")
        secret = context._secret_names(item.type) & item.attributes.keys()
        if isinstance(destination, MountedProvider) and secret:
            raise ValidationError(f"{item.path}: secret attributes are not written into a "
                                  f"{destination.kind}")
        path = target + item.path[len(source):] if item.path != source else target
        draft = ItemDraft(path=path, type=item.type, owner=context.principal,
                          attributes=dict(item.attributes))
        if isinstance(destination, MountedProvider):
            draft = destination.accept(draft)
        drafts.append((item, draft))
    context._check_parent(target, drafts[0][1].type)
    if table.get_many([target]).get(target) is not None:
        raise AlreadyExists(target)
    stored = content.keys_below(context, source) \
        if not copy and not isinstance(origin, MountedProvider) and context.content is not None else []
    with table.transaction():
        for item, draft in drafts:
            if context.types.is_a(item.type, FILE_TYPE) and draft.type == FILE_TYPE:
                _copy_file(context, origin, destination, item, draft)
            else:
                table.create(draft)
        if moving_out and origin.changes_at_once:
            # Removed now, the source would be gone if the store then rolled the copy back.
            table.after_commit(lambda: _remove_moved(origin, source, target))
        elif not copy:
            table.delete(source, recursive=True)
            content.release(context, stored)
    return table.get(target)


def _refuse_losses(origin: MountedProvider, source: str, target: str) -> None:
    """Refuse a move out of ``origin`` that would silently lose what shows as no item (a
    copy carries items only) or leave behind what cannot be removed."""
    lost = origin.left_behind(source)
    if lost:
        listed = "; ".join(lost[:3]) + (f"; and {len(lost) - 3} more" if len(lost) > 3 else "")
        raise ValidationError(f"{source}: not moved to {target}, which would lose or leave behind "
                              f"{listed}; nothing was changed")


def _remove_moved(origin: MountedProvider, source: str, target: str) -> None:
    try:
        origin.delete(source, recursive=True)
    except RealnetError as e:
        raise StoreError(f"{source}: copied to {target}, but removing it from the {origin.kind} then "
                         f"failed, and what was not removed is still there: {e}") from None


def _read(context: Context, origin: Provider, item: Item):
    if isinstance(origin, MountedProvider):
        return origin.read_content(item.path)
    key = item.attributes.get("storage_key")
    if not key:
        return iter(())
    return store_of(context).read(key)


def _copy_file(context: Context, origin: Provider, destination: Provider, item: Item,
               draft: ItemDraft) -> None:
    content_type = item.attributes.get("content_type")
    chunks = _read(context, origin, item)
    if isinstance(destination, MountedProvider):
        destination.check_writable(draft.path)
        context.provider._writing(destination)
        destination.write_content(draft.path, chunks, content_type=content_type)
        return
    stored = store_of(context).write(chunks, content_type=content_type)
    attributes = {k: v for k, v in draft.attributes.items() if k not in ("storage_key", "sha256", "size")}
    attributes.update({"size": stored.size, "sha256": stored.sha256, "storage_key": stored.key})
    context.provider.create(draft._replace(attributes=attributes))

