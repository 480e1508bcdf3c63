"""The facade every face uses: one tree, its types and its rules, over one provider.

Faces (shell, CLI, HTTP, SQS, TUI) call these methods with absolute paths and get
items or plain data back. Type rules, resource hooks and (later) permission checks
live here, below every face, so that all of them behave the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from realnet.core import paths
from realnet.core.access import Visibility
from realnet.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RealnetError,
    StoreError,
    ValidationError,
)
from realnet.core.guard import Guard
from realnet.core.item import ChildrenPage, Item, ItemDraft
from realnet.core.loader import InitPlan, load_plan, parse_type
from realnet.core.types import TypeDef, TypeRegistry

if TYPE_CHECKING:
    from realnet.core.content import ContentStore
    from realnet.providers.base import Provider
    from realnet.resources.base import Resource

TYPES_FOLDER = "/types"
TYPES_GENERATION = "types_generation"
SYSTEM_FOLDER = "/system"
#: Folders the store cannot work without: the types, the homes, and accounts and groups.
HOME_FOLDER = "/home"
BUILTIN_FOLDERS = (TYPES_FOLDER, HOME_FOLDER, SYSTEM_FOLDER, "/system/accounts", "/system/groups",
                   "/system/tokens")
LOCAL_ADMIN = "admin"
REDACTED = "<redacted>"
READ_FOR_AUTHENTICATED = {"principal": "group:authenticated", "permissions": ["read"]}


class SecretSealer(Protocol):
    def seal(self, value: str) -> str: ...
    def open(self, value: str, *, where: str) -> str: ...
    def is_sealed(self, value: object) -> bool: ...


class ResourceLookup(Protocol):
    def get(self, name: str | None) -> type[Resource]: ...
    def names(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class InitReport:
    files: list[str]
    types_created: int
    types_updated: int
    types_unchanged: int
    items_created: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "types": {
                "created": self.types_created,
                "updated": self.types_updated,
                "unchanged": self.types_unchanged,
            },
            "items_created": self.items_created,
        }


def text_of(context: Any, item: Item) -> str:
    """The readable content of ``item`` for ``cat``, by its type's resource."""
    text = context.resource(item.type).text(item)
    if text is None:
        raise ValidationError(f"{item.path}: a {item.type} has no text content to show")
    return text


def mount_type_names(types: TypeRegistry, resources: ResourceLookup) -> frozenset[str]:
    """The types whose items are mounts: their resource opens a provider."""
    from realnet.resources.mounts import MountResource

    names = set()
    for typedef in types:
        module = types.module(typedef.name)
        if typedef.abstract or not module:
            continue
        try:
            if issubclass(resources.get(module), MountResource):
                names.add(typedef.name)
        except RealnetError:
            continue  # a plugin that is not installed: its items are not mounts
    return frozenset(names)


def mount_settings(types: TypeRegistry, type_name: str) -> frozenset[str]:
    """A mount type's own settings (``path``, ``read_only`` …); what every item has
    (``title``, ``description``) belongs to the mounted document, not to the mount."""
    common = types.attributes("Item") if "Item" in types else {}
    return frozenset(n for n in types.attributes(type_name) if n not in common)


class _Catalogue:
    """What the mount table asks of the types: which are mounts, their settings, and
    the provider a mount item opens (through its type's resource)."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._mount_types: tuple[TypeRegistry, frozenset[str]] | None = None

    def mount_types(self) -> frozenset[str]:
        types = self.context.types
        if self._mount_types is None or self._mount_types[0] is not types:
            self._mount_types = (types, mount_type_names(types, self.context.resources))
        return self._mount_types[1]

    def settings_of(self, type_name: str) -> frozenset[str]:
        return mount_settings(self.context.types, type_name)

    def open_mount(self, item: Item) -> Any:
        return self.context.resource(item.type).open(item)  # type: ignore[attr-defined]


class Context:
    """One user's view of one store."""

    def __init__(
        self,
        provider: Provider,
        resources: ResourceLookup,
        *,
        init_directories: Sequence[Path],
        principal: str = LOCAL_ADMIN,
        secrets: SecretSealer | None = None,
        content: ContentStore | None = None,
        mount_paths: Sequence[str] | None = None,
    ) -> None:
        from realnet.providers.mounts import MountTable

        if isinstance(provider, MountTable):  # another context's: share its store, not its table
            provider = provider.store
        #: The store itself; ``provider`` is the mount table in front of it, which every
        #: path goes through.
        self.store = provider
        self.provider = MountTable(provider, _Catalogue(self))
        self.secrets = secrets
        self.content = content
        #: REALNET_MOUNT_PATHS: the folders file and folder mounts may point into (None: anywhere).
        self.mount_paths = None if mount_paths is None else tuple(mount_paths)
        self.resources = resources
        self.init_directories = list(init_directories)
        self.principal = principal
        self.guard = Guard(provider, principal)
        self._types: TypeRegistry | None = None
        self._types_generation = -1
        self._secrets_by_type: dict[str, tuple[TypeRegistry, frozenset[str]]] = {}
        self._resource_instances: dict[str, Resource] = {}

    # -- types -------------------------------------------------------------------
    @property
    def types(self) -> TypeRegistry:
        if self._types is None:
            self._types = self._load_types()
        return self._types

    def ensure_initialized(self) -> None:
        """A new, empty store is initialized on first use, so the embedded default needs no step."""
        if not self.store.exists(TYPES_FOLDER):
            self._initialize()

    def _load_types(self) -> TypeRegistry:
        self.ensure_initialized()
        self._types_generation = self.store.generation(TYPES_GENERATION)
        definitions: list[TypeDef] = []
        for item in self.store.walk(TYPES_FOLDER, max_depth=1):
            if item.type != "Type":
                continue
            try:
                definitions.append(parse_type(item.attributes.get("definition"), item.path))
            except ValidationError as e:
                raise StoreError(f"{item.path}: stored type definition is invalid ({e})") from e
        return TypeRegistry(definitions)

    def resource(self, type_name: str) -> Resource:
        module = self.types.module(type_name) if type_name in self.types else None
        key = module or ""
        instance = self._resource_instances.get(key)
        if instance is None:
            instance = self._resource_instances[key] = self.resources.get(module)(self)
        return instance

    def readable_types(self) -> list[TypeDef]:
        """The type definitions the principal may read (``/types/NAME``), by name: what the
        API lists, so that a caller the ACL of /types leaves out learns none of them."""
        ordered = sorted(self.types, key=lambda t: t.name)
        if self.guard.is_admin:
            return ordered
        items = self.provider.get_many([paths.join(TYPES_FOLDER, t.name) for t in ordered])
        return [t for t in ordered if (item := items.get(paths.join(TYPES_FOLDER, t.name))) is not None
                and "read" in self.guard.permissions(item)]

    @property
    def home(self) -> str:
        return paths.join(HOME_FOLDER, self.principal)

    # -- initialization ----------------------------------------------------------
    def init(self) -> InitReport:
        """Load the initialization files into the store; running it again upgrades in place.

        It rewrites /types and restores the initial items as the administrator, so on a
        store already initialized only administrators may run it."""
        if self.store.exists(TYPES_FOLDER):
            self.guard.require_admin("init")
        return self._initialize()

    def _initialize(self) -> InitReport:
        plan = load_plan(self.init_directories, known_modules=self.resources.names())
        return self._apply(plan)

    def _apply(self, plan: InitPlan) -> InitReport:
        registry = TypeRegistry(plan.types)
        created = updated = unchanged = items = 0
        provider = self.store  # the types decide what is a mount: the table cannot route yet
        with provider.transaction():
            provider.lock("realnet-init")  # replicas starting together initialize once
            if not provider.exists(paths.ROOT):
                provider.create(ItemDraft(path=paths.ROOT, type="Folder", owner=LOCAL_ADMIN))
            if not provider.exists(TYPES_FOLDER):
                provider.create(ItemDraft(path=TYPES_FOLDER, type="Folder", owner=LOCAL_ADMIN,
                                          acl=(READ_FOR_AUTHENTICATED,)))
            existing = {i.path: i for i in provider.walk(TYPES_FOLDER, max_depth=1)}
            for typedef in plan.types:
                path = paths.join(TYPES_FOLDER, typedef.name)
                attributes = {"definition": typedef.to_dict(), "source": typedef.source.split("#")[0]}
                current = existing.get(path)
                if current is None:
                    provider.create(ItemDraft(path=path, type="Type", owner=LOCAL_ADMIN,
                                              attributes=attributes))
                    created += 1
                elif dict(current.attributes) != attributes:
                    provider.update(path, attributes)
                    updated += 1
                else:
                    unchanged += 1
            if created or updated:
                provider.bump_generation(TYPES_GENERATION)
            wanted = [i.path for i in plan.items] + [paths.join(HOME_FOLDER, LOCAL_ADMIN)]
            present = provider.get_many(wanted)
            mount_types = mount_type_names(registry, self.resources)
            for initial in plan.items:
                if initial.path not in present and initial.type in mount_types:
                    from realnet.providers.mounts import MOUNTS_GENERATION

                    provider.bump_generation(MOUNTS_GENERATION)
                if initial.path not in present:
                    items += self._create_with_instances(
                        registry, initial.path, initial.type, initial.attributes, LOCAL_ADMIN,
                        acl=initial.acl, provider=provider,
                    )
            home = paths.join(HOME_FOLDER, LOCAL_ADMIN)
            if home not in present and provider.exists(HOME_FOLDER):
                items += self._create_with_instances(registry, home, "Folder", {}, LOCAL_ADMIN,
                                                     provider=provider)
        self._types = None
        self.provider.forget()
        return InitReport(plan.files, created, updated, unchanged, items)

    def _create_with_instances(
        self, registry: TypeRegistry, path: str, type_name: str,
        attributes: Mapping[str, Any], owner: str, *, acl: tuple[Any, ...] = (),
        provider: Provider | None = None,
    ) -> int:
        from realnet.core.loader import check_instance, instance_cycle

        provider = provider or self.provider
        # A definition stored before types were checked as the initialization files are
        # is refused here in one line, before it can fail half-way or never end.
        cycle = instance_cycle(registry, type_name)
        if cycle:
            raise ValidationError(f"{path}: the instances of type {type_name} would hold one "
                                  f"another without end ({' → '.join(cycle)})")
        provider.create(ItemDraft(path=path, type=type_name, owner=owner, attributes=attributes, acl=acl))
        count = 1
        for typedef_name in reversed(registry.lineage(type_name)):
            typedef = registry.get(typedef_name)
            for index, instance in enumerate(typedef.instances):
                check_instance(registry, typedef, instance,
                               f"{path}: type {typedef_name} instances[{index}]")
                child_type = instance["type"]
                child_attrs = registry.validate(
                    child_type, instance.get("attributes", {}), where=path
                )
                count += self._create_with_instances(
                    registry, paths.join(path, instance["name"]), child_type, child_attrs, owner,
                    provider=provider,
                )
        return count

    # -- reading -------------------------------------------------------------------
    def get(self, path: str) -> Item:
        return self._readable(paths.normalize(path))

    def _readable(self, path: str, permission: str = "read") -> Item:
        return self.guard.require(self.provider.get(path), permission)

    def listable(self, path: str) -> Item:
        """A folder the principal may look into: readable, or on the way to something readable
        (whose path shows that its ancestors exist anyway); only readable children show."""
        item = self.provider.get(paths.normalize(path))
        try:
            return self.guard.require(item, "read")
        except NotFound:
            visible = self.guard.visibility(item.path)
            owner = self.guard.owner
            if visible is not None and (
                any(r != item.path for r in visible.roots)
                or (owner is not None
                    and self.provider.count_subtree(item.path, visible=Visibility(owner, ())) > 0)
            ):
                return item
            raise

    def _exists_for_me(self, path: str) -> Item | None:
        """The item at ``path`` if it exists and the principal may see it; else None."""
        item = self.provider.get_many([path]).get(path)
        if item is None:
            return None
        try:
            return self.listable(path)
        except NotFound:
            return None

    def list(
        self, path: str, *, order: str = "name", limit: int = 100, cursor: str | None = None
    ) -> ChildrenPage:
        folder = self.listable(path)
        visible = self.guard.listing_visibility(folder.path)
        page = self.provider.children(folder.path, order=order, limit=limit, cursor=cursor, visible=visible)
        return self._only_the_way(page, visible)

    def complete(self, folder: str, prefix: str | None, limit: int) -> ChildrenPage:
        """Children whose names start with ``prefix``, for completion (readable ones, and
        those on the way to them)."""
        item = self.listable(folder)
        visible = self.guard.listing_visibility(item.path)
        page = self.provider.children(item.path, name_prefix=prefix, limit=limit, visible=visible)
        return self._only_the_way(page, visible)

    def _only_the_way(self, page: ChildrenPage, visible: Visibility | None) -> ChildrenPage:
        """A listed folder that is only on the way to something readable shows its name
        and type, not its attributes."""
        if visible is None or not visible.ways:
            return page
        ways = set(visible.ways)
        items = [i._replace(attributes={})
                 if i.path in ways and "read" not in self.guard.permissions(i) else i
                 for i in page.items]
        return ChildrenPage(tuple(items), page.next_cursor)

    def find(
        self,
        root: str,
        *,
        type_name: str | None = None,
        name_glob: str | None = None,
        max_depth: int | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> ChildrenPage:
        root = self.listable(root).path
        types = None
        if type_name is not None:
            self.types.get(type_name, where=f"--type {type_name}")
            types = self.types.subtypes(type_name)
        return self.provider.search(
            root, types=types, name_glob=name_glob, max_depth=max_depth, limit=limit, cursor=cursor,
            visible=self.guard.visibility(root),
        )

    def count_below(self, path: str) -> int:
        """How many items below ``path`` the principal can see."""
        item = self.listable(path)
        return self.provider.count_subtree(item.path, visible=self.guard.visibility(item.path))

    def deletes_beyond(self, path: str, *, purge_data: bool = False) -> str | None:
        """What deleting ``path`` with its subtree removes besides items, said before it is
        done (a WordPress site's workloads and, with ``purge_data``, its data volumes)."""
        path = paths.normalize(path)
        return self.provider.content_owner(path).deletes_beyond(path, purge_data=purge_data)

    def text(self, path: str) -> str:
        return text_of(self, self.get(path))

    def shown(self, item: Item) -> Item:
        """The item as faces may display it: attributes of kind ``secret`` redacted."""
        secret = self._secret_names(item.type)
        if not secret or secret.isdisjoint(item.attributes):
            return item
        attributes = dict(item.attributes)
        for name in secret.intersection(attributes):
            attributes[name] = REDACTED
        return item._replace(attributes=attributes)

    def reveal(self, path: str) -> Item:
        """The item with its secret attributes decrypted: for those who may write it."""
        item = self._readable(paths.normalize(path), "write")
        secret = self._secret_names(item.type) & item.attributes.keys()
        if not secret:
            return item
        box = self._box()
        attributes = dict(item.attributes)
        for name in secret:
            attributes[name] = box.open(attributes[name], where=f"{item.path}: attribute '{name}'")
        return item._replace(attributes=attributes)

    def _require_write_on_secrets(self, item: Item) -> None:
        """Copying a secret lets the copier reveal it: that needs write on the original."""
        if self.guard.is_admin:
            return
        secret_types = [t.name for t in self.types if self._secret_names(t.name)]
        if not secret_types:
            return
        holders = [item] if item.type in secret_types else []
        holders += self.provider.search(item.path, types=secret_types, limit=10_000).items
        for holder in holders:
            if self._secret_names(holder.type) & holder.attributes.keys():
                self.guard.require(holder, "write")

    def _secret_names(self, type_name: str) -> frozenset[str]:
        types = self.types
        cached = self._secrets_by_type.get(type_name)
        if cached is None or cached[0] is not types:
            names = frozenset(n for n, a in types.attributes(type_name).items() if a.kind == "secret") \
                if type_name in types else frozenset()
            cached = self._secrets_by_type[type_name] = (types, names)
        return cached[1]

    def _box(self) -> SecretSealer:
        if self.secrets is None:
            raise StoreError("secret attributes need an encryption key, and none is configured")
        return self.secrets

    def seal(self, type_name: str, attributes: dict[str, Any], names: Iterable[str], *,
             keep_ciphertext: bool = False) -> dict[str, Any]:
        """Encrypt the secret values among ``names``. Values given by people are always
        encrypted; ``keep_ciphertext`` (imports by admins) keeps values already encrypted,
        after checking that this store's key opens them."""
        secret = self._secret_names(type_name).intersection(names)
        box = self._box() if secret else None
        for name in secret:
            value = attributes.get(name)
            if not isinstance(value, str):
                continue
            if keep_ciphertext and box.is_sealed(value):
                box.open(value, where=f"attribute '{name}'")
                continue
            attributes[name] = box.seal(value)
        return attributes

    def can_hold_children(self, item: Item) -> bool:
        return item.type in self.types and bool(self.types.allowed_children(item.type))

    # -- writing -------------------------------------------------------------------
    def _check_new(self, path: str, type_name: str, attributes: Mapping[str, Any], *,
                   from_text: bool, fill_defaults: bool = True) -> dict[str, Any]:
        from realnet.core.content import refuse_managed

        registry = self.types
        registry.check_creatable(type_name, where=path)
        refuse_managed(self, type_name, attributes, path)
        checked = registry.validate(type_name, attributes, where=path, from_text=from_text,
                                    fill_defaults=fill_defaults)
        self.resource(type_name).check(path, type_name, checked)
        return self.seal(type_name, checked, list(checked))

    def _check_parent(self, path: str, type_name: str) -> None:
        parent = self.provider.get(paths.parent_of(path)) if path != paths.ROOT else None
        if parent is not None:
            try:
                self.guard.require(parent, "create")
            except NotFound:
                self.listable(parent.path)  # hidden: stays "not found"
                raise PermissionDenied(f"{parent.path}: {self.principal} may not create here") from None
            if parent.type in self.types:
                self.types.check_child(parent.type, type_name, where=path)

    def create(
        self,
        path: str,
        type_name: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        from_text: bool = False,
        parents: bool = False,
    ) -> Item:
        path = paths.normalize(path)
        if path == paths.ROOT:
            raise AlreadyExists(path)
        checked = self._check_new(path, type_name, attributes or {}, from_text=from_text)
        with self.provider.transaction():
            if parents:
                self._make_parents(path)
            try:
                self._check_parent(path, type_name)
            except NotFound as e:
                raise NotFound(paths.parent_of(path),
                               "parent folder does not exist (use -p to create it)") from e
            if self.provider.exists(path):
                raise AlreadyExists(path)  # the parent is visible, so this reveals nothing
            self._create_with_instances(self.types, path, type_name, checked, self.principal)
            item = self.provider.get(path)
        self._after_write(path)
        return item

    def _make_parents(self, path: str) -> None:
        missing: list[str] = []
        current = paths.parent_of(path)
        # A folder the principal cannot see counts as missing, so the answer is the same.
        while current != paths.ROOT and self._exists_for_me(current) is None:
            missing.append(current)
            current = paths.parent_of(current)
        for folder in reversed(missing):
            made = self.provider.folder_type_at(folder)
            self._check_parent(folder, made)
            # Made meanwhile by another writer is what we wanted; its type is checked next.
            with suppress(AlreadyExists):
                self.provider.create(ItemDraft(path=folder, type=made, owner=self.principal))

    def update(
        self,
        path: str,
        changes: Mapping[str, Any],
        *,
        unset: Iterable[str] = (),
        expected_version: int | None = None,
        from_text: bool = False,
    ) -> Item:
        path = paths.normalize(path)
        with self.provider.transaction():
            # Locked, so that a concurrent writer's change is merged, never overwritten.
            item = self.guard.require(self.provider.get_for_update(path), "write")
            if expected_version is not None and expected_version != item.version:
                raise Conflict(
                    f"{path}: version {expected_version} is stale (current version is "
                    f"{item.version}); read the item again and retry"
                )
            from realnet.core.content import refuse_managed

            refuse_managed(self, item.type, [*changes, *unset], path)
            if item.type not in self.types:
                raise ValidationError(f"{path}: its type {item.type} is no longer defined; "
                                      f"define /types/{item.type} again to change the item")
            known = self.types.attributes(item.type)
            unset = set(unset)
            for key in unset:
                if key not in known and key not in item.attributes:
                    raise ValidationError(f"{path}: type {item.type} has no attribute '{key}'")
            # Values already stored were checked when written, and never parsed as text
            # again; a key the type has dropped since stays as it is until it is unset.
            kept = item.attributes.keys() - changes.keys() - unset
            checked = self.types.validate(item.type, changes, where=path, from_text=from_text,
                                          fill_defaults=False, kept=kept)
            for key in kept:
                checked[key] = item.attributes[key]
            self.resource(item.type).check(path, item.type, checked)
            self.seal(item.type, checked, changes.keys())
            updated = self.provider.update(path, checked, expected_version=item.version)
        self._after_write(path)
        return updated

    def delete(self, path: str, *, recursive: bool = False) -> int:
        path = paths.normalize(path)
        if path in BUILTIN_FOLDERS:
            raise ValidationError(f"{path}: a built-in folder cannot be deleted")
        from realnet.core import content

        with self.provider.transaction():
            item = self.guard.require(self.provider.get(path), "delete")
            self._refuse_removing_a_used_type(item)
            self._require_whole_subtree(path)
            keys = content.keys_below(self, path) if self.content is not None else []
            count = self.provider.delete(path, recursive=recursive)
        self._after_write(path)
        content.release(self, keys)
        return count

    def _refuse_removing_a_used_type(self, item: Item) -> None:
        """A type definition leaves /types (deleted or moved away) only when nothing uses
        it: items and types naming a type that is gone could be neither read as typed nor
        changed any more."""
        path = item.path
        if item.type != "Type" or paths.parent_of(path) != TYPES_FOLDER:
            return
        name = paths.name_of(path)
        uses = self.types.uses_of(name)
        if uses:
            more = f" (and {len(uses) - 1} more)" if len(uses) > 1 else ""
            raise ValidationError(f"{path}: type {name} is {uses[0]}{more}")
        shown = self.store.search(paths.ROOT, types=[name], limit=1,
                                  visible=self.guard.visibility(paths.ROOT)).items
        if shown:
            raise ValidationError(f"{path}: type {name} is used by items (first: {shown[0].path})")
        if self.store.search(paths.ROOT, types=[name], limit=1).items:
            raise ValidationError(f"{path}: type {name} is used by items you cannot read")

    def _require_whole_subtree(self, path: str) -> None:
        """Refuse to copy, move or delete a subtree holding items the principal may not read:
        they would be revealed (by a count, or by landing where the principal's grants reach)
        or go unseen."""
        visible = self.guard.visibility(path)
        if visible is not None and \
                self.provider.count_subtree(path, visible=visible) != self.provider.count_subtree(path):
            raise PermissionDenied(f"{path}: {self.principal} cannot read everything below it")

    def _require_admin_for_mounts(self, source: str, *, copy: bool) -> None:
        """Copying a mount item makes a new mount, and moving one puts it where other grants
        reach it (the items inside a mount answer to the ACL along its path): both are
        mounting, for administrators only. Copying the mount itself copies what it shows."""
        if self.guard.is_admin:
            return
        mounts = getattr(self.provider, "mounts", None)
        if mounts is None:
            return
        for path in sorted(mounts()):
            if paths.is_within(path, source) and not (copy and path == source):
                self.guard.require_admin(f"{source}: {'copying' if copy else 'moving'} the mount at {path}")

    def delete_many(self, targets: Sequence[str], *, recursive: bool = False) -> int:
        """Delete several items (with ``recursive``, their subtrees) in one transaction: all
        of them or, when one is refused, none. A target inside another one's subtree goes
        with it."""
        chosen = list(dict.fromkeys(paths.normalize(t) for t in targets))
        if recursive:
            chosen = [t for t in chosen if not any(o != t and paths.is_within(t, o) for o in chosen)]
        with self.provider.transaction():
            return sum(self.delete(target, recursive=recursive) for target in chosen)

    def move(self, source: str, target: str, *, parents: bool = False) -> Item:
        return self._relocate(source, target, parents=parents, copy=False)

    def copy(self, source: str, target: str, *, parents: bool = False) -> Item:
        return self._relocate(source, target, parents=parents, copy=True)

    def _relocate(self, source: str, target: str, *, parents: bool, copy: bool) -> Item:
        source = paths.normalize(source)
        target = paths.normalize(target)
        with self.provider.transaction():
            item = self.guard.require(self.provider.get(source), "read" if copy else "delete")
            self._require_whole_subtree(source)
            self._require_admin_for_mounts(source, copy=copy)
            if not copy:
                self._refuse_removing_a_used_type(item)
            if not copy and source in BUILTIN_FOLDERS:
                raise ValidationError(f"{source}: a built-in folder cannot be moved")
            existing = self._exists_for_me(target)
            if existing is not None and self.can_hold_children(existing):
                target = paths.join(target, item.name)
            if copy:
                self._require_write_on_secrets(item)
            if paths.is_within(target, source):
                raise InvalidPath(f"{target}: cannot move or copy {source} into itself")
            if parents:
                self._make_parents(target)
            from realnet.providers.mounts import crossing

            try:
                if crossing(self.provider, source, target, copy=copy):
                    from realnet.core.crossing import relocate_across

                    result = relocate_across(self, source, target, copy=copy)
                    self._after_write(source)
                    self._after_write(target)
                    return result
                self._check_parent(target, item.type)
            except NotFound as e:
                if e.path != paths.parent_of(target):
                    raise
                raise NotFound(paths.parent_of(target),
                               "parent folder does not exist (use -p to create it)") from e
            if copy:
                result = self.provider.copy(source, target, owner=self.principal)
            else:
                result = self.provider.move(source, target)
        self._after_write(source)
        self._after_write(target)
        return result

    # -- file content ----------------------------------------------------------------
    def put_content(self, path: str, chunks: Iterable[bytes], *, content_type: str | None = None,
                    parents: bool = False) -> Item:
        """Create the file item at ``path`` with these bytes, or replace its bytes."""
        from realnet.core import content

        return content.put(self, path, chunks, content_type=content_type, parents=parents)

    def read_content(self, path: str, start: int = 0, end: int | None = None) -> tuple[Item, Iterator[bytes]]:
        from realnet.core import content

        return content.open_read(self, path, start, end)

    def action(self, path: str, name: str, **params: Any) -> Any:
        """Do ``name`` (``logs``, ``scale`` …) to the item at ``path``, with the permission the
        action needs checked here, as for every other change."""
        path = paths.normalize(path)
        provider = self.provider.content_owner(path)
        actions = getattr(provider, "actions", {})  # the store's items have none
        if name not in actions:
            where = self.get(path)
            raise ValidationError(f"{path}: a {where.type} has no action {name!r}"
                                  + (f" (actions: {', '.join(sorted(actions))})" if actions else ""))
        self._readable(path, actions[name])
        return provider.action(path, name, **params)

    def act_as(self, principal: str) -> None:
        """From now on, check every operation against ``principal``'s permissions."""
        self.principal = principal
        self.guard = Guard(self.provider, principal)

    def transaction(self):
        """Several changes that happen together or not at all."""
        return self.provider.transaction()

    def refresh(self, generations: dict[str, int] | None = None) -> None:
        """Start a new request: re-read who the principal is, the ACL entries, and the
        types if another session or process changed them (``generations``: the store's
        counters, when the caller has just read them)."""
        if generations is None:
            generations = self.provider.generations()
        self.guard.refresh(generations)
        if self._types is not None and generations.get(TYPES_GENERATION, 0) != self._types_generation:
            self._types = None
            self._resource_instances.clear()
            self.provider.forget()
        self.provider.refresh(generations)

    def _after_write(self, path: str) -> None:
        self.guard.refresh()
        if paths.is_within(path, TYPES_FOLDER) or paths.is_within(TYPES_FOLDER, path):
            self.provider.bump_generation(TYPES_GENERATION)
            self._types = None
