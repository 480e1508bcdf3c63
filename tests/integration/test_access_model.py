"""Who may see and do what, against a reference model, on random trees (both stores).

Hypothesis builds a random tree (folders and documents up to depth 4, random owners),
random groups and memberships, and random grants and revokes made by random accounts.
A small model written here from the documented rules — entries inherited by the
subtree and only ever adding, the owner holding everything on the item itself,
``admins`` holding everything everywhere, everyone in ``authenticated`` and
``public`` — predicts, for every account and every item, the effective permissions,
whether ``get`` answers, what ``list``, ``find`` and ``count_below`` show, and which
grants and revokes succeed. Realnet must agree on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from realnet.core.context import Context
from realnet.core.errors import NotFound, PermissionDenied
from realnet.core.item import ItemDraft
from realnet.core.loader import packaged_directory
from realnet.providers.base import Provider
from realnet.resources import ResourceRegistry
from realnet.resources.accounts import Directory, grant, revoke

PERMS = ("read", "write", "create", "delete", "admin")
ACCOUNTS = ("alice", "bob", "carol", "dave")
GROUPS = ("editors", "readers", "staff")
OWNERS = ("admin", *ACCOUNTS)
# Names chosen to sit next to each other in byte order around '/' and '0' — the
# bounds of the subtree ranges the SQL visibility condition uses.
NAMES = ("a", "b", "a0", "a-b", "a.b", "a b", "a_%", "ü")
FIXED_TARGETS = ("/", "/home", "/apps", "/system", "/types", "/home/alice", "/home/bob")
MAX_DEPTH = 4


# -- the reference model ---------------------------------------------------------
def ancestors_and_self(path: str) -> list[str]:
    """``/a/b/c`` → ``["/a/b/c", "/a/b", "/a", "/"]`` (plain string work, on purpose)."""
    out = [path]
    while path != "/":
        path = path.rsplit("/", 1)[0] or "/"
        out.append(path)
    return out


def strictly_below(path: str, top: str) -> bool:
    if path == top:
        return False
    return top == "/" or path.startswith(top + "/")


@dataclass
class Model:
    owner: dict[str, str]  # every item's path → its owner
    acl: dict[str, dict[str, set[str]]]  # path → principal → permissions
    groups: dict[str, set[str]] = field(default_factory=dict)  # group → member accounts

    def principals(self, account: str) -> set[str]:
        if account == "anonymous":
            return {"group:public"}
        out = {f"user:{account}", "group:authenticated", "group:public"}
        out |= {f"group:{g}" for g, members in self.groups.items() if account in members}
        return out

    def perms(self, account: str, path: str) -> set[str]:
        if account in self.groups.get("admins", ()):
            return set(PERMS)
        if account != "anonymous" and self.owner[path] == account:
            return set(PERMS)
        speaking = self.principals(account)
        out: set[str] = set()
        for place in ancestors_and_self(path):
            for principal, permissions in self.acl.get(place, {}).items():
                if principal in speaking:
                    out |= permissions
        return out

    def readable(self, account: str) -> set[str]:
        return {p for p in self.owner if "read" in self.perms(account, p)}

    def on_the_way(self, account: str, children: set[str]) -> set[str]:
        """Children shown, though not readable, because an ACL entry granting ``account``
        read lies below them (README: a folder on the way is listed, to walk down to it)."""
        if account in self.groups.get("admins", ()):
            return set()
        speaking = self.principals(account)
        roots = {place for place, entries in self.acl.items()
                 if any(p in speaking and "read" in perms for p, perms in entries.items())}
        return {c for c in children if any(strictly_below(r, c) for r in roots)}

    @staticmethod
    def listable(path: str, readable: set[str]) -> bool:
        """Readable, or on the way to something readable."""
        return path in readable or any(strictly_below(r, path) for r in readable)

    def change(self, path: str, principal: str, permissions: set[str], *, add: bool) -> None:
        entries = self.acl.setdefault(path, {})
        if add:
            entries[principal] = entries.get(principal, set()) | permissions
        else:
            left = entries[principal] - permissions
            if left:
                entries[principal] = left
            else:
                del entries[principal]
        if not entries:
            del self.acl[path]


def qualified(principal: str) -> str:
    if principal.startswith(("user:", "group:")):
        return principal
    return f"user:{principal}" if principal in ACCOUNTS else f"group:{principal}"


# -- random scenarios ---------------------------------------------------------------
@dataclass
class Scenario:
    groups: dict[str, frozenset[str]]
    promoted: str | None  # an account also made a member of admins
    nodes: list[tuple[str, str, str]]  # (path, type, owner), parents first
    ops: list[tuple[str, str, str, frozenset[str] | None, str]]  # (grant|revoke, path, principal, perms, by)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    groups = {g: draw(st.frozensets(st.sampled_from(ACCOUNTS)))
              for g in draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=3))}
    promoted = draw(st.sampled_from((None, None, None, *ACCOUNTS)))
    parents = ["/", *(f"/home/{a}" for a in ACCOUNTS)]
    nodes: list[tuple[str, str, str]] = []
    taken: set[str] = set()
    for _ in range(draw(st.integers(0, 25))):
        parent = draw(st.sampled_from(parents))
        path = ("" if parent == "/" else parent) + "/" + draw(st.sampled_from(NAMES))
        kind = draw(st.sampled_from(("Folder", "Document")))
        owner = draw(st.sampled_from(OWNERS))
        if path in taken:
            continue
        taken.add(path)
        nodes.append((path, kind, owner))
        if kind == "Folder" and path.count("/") < MAX_DEPTH:
            parents.append(path)
    targets = [*FIXED_TARGETS, *(p for p, _, _ in nodes)]
    principals = ["group:authenticated", "group:public", "group:admins", "public",
                  *(f"user:{a}" for a in ACCOUNTS), *ACCOUNTS,
                  *(f"group:{g}" for g in groups), *groups]
    ops = draw(st.lists(st.tuples(
        st.sampled_from(("grant", "grant", "revoke")),
        st.sampled_from(targets),
        st.sampled_from(principals),
        st.none() | st.frozensets(st.sampled_from(PERMS), min_size=1),
        st.sampled_from(("admin", "admin", *ACCOUNTS)),
    ), max_size=14))
    return Scenario(groups, promoted, nodes, ops)


# -- stores -------------------------------------------------------------------------
@dataclass
class Store:
    name: str
    fresh: Callable[[], AbstractContextManager[Provider]]  # a new, empty store per example
    examples: int


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        @contextmanager
        def fresh_sqlite() -> Iterator[Provider]:
            from realnet.providers.sql.sqlite import SqliteProvider

            with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
                provider = SqliteProvider(Path(folder) / "store.db")
                try:
                    yield provider
                finally:
                    provider.close()

        return Store("sqlite", fresh_sqlite, 60)

    import psycopg

    from realnet.providers.sql.postgresql import PostgresProvider

    # tests/conftest.py's server_url(); not imported, as "conftest" names several modules
    # when the whole suite runs.
    server = request.getfixturevalue("postgres_server")
    url = server if isinstance(server, str) else server.url("postgres")

    @contextmanager
    def fresh_schema() -> Iterator[Provider]:
        name = f"acl_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        sep = "&" if "?" in url else "?"
        provider = PostgresProvider(f"{url}{sep}options=-csearch_path%3D{name}", label="test")
        try:
            yield provider
        finally:
            provider.close()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {name} CASCADE")

    return Store("postgresql", fresh_schema, 20)


def open_context(provider: Provider, principal: str = "admin") -> Context:
    return Context(provider, ResourceRegistry(), init_directories=[packaged_directory()],
                   principal=principal)


# -- building one example -----------------------------------------------------------
def build(context: Context, scenario: Scenario) -> tuple[Model, list[str]]:
    """Apply ``scenario`` to the store and to a model; return the model and the disagreements
    on which grants and revokes went through."""
    provider = context.provider
    context.ensure_initialized()
    everything = [provider.get("/"), *provider.walk("/")]
    model = Model(owner={i.path: i.owner for i in everything},
                  acl={i.path: {e["principal"]: set(e["permissions"]) for e in i.acl}
                       for i in everything if i.acl},
                  groups={"admins": {"admin"}})
    directory = Directory(context)
    for account in ACCOUNTS:
        directory.add_user(account, password=None)
        model.owner[f"/system/accounts/{account}"] = "admin"
        model.owner[f"/home/{account}"] = "admin"
        model.acl[f"/home/{account}"] = {f"user:{account}": set(PERMS)}
    for group, members in scenario.groups.items():
        directory.add_group(group)
        model.owner[f"/system/groups/{group}"] = "admin"
        model.groups[group] = set()
        for member in sorted(members):
            directory.change_membership(group, member, add=True)
            model.groups[group].add(member)
    if scenario.promoted:
        directory.change_membership("admins", scenario.promoted, add=True)
        model.groups["admins"].add(scenario.promoted)
    for path, kind, owner in scenario.nodes:
        attributes = {"title": path} if kind == "Document" else {}
        provider.create(ItemDraft(path=path, type=kind, owner=owner, attributes=attributes))
        model.owner[path] = owner

    problems: list[str] = []
    for action, path, principal, permissions, by in scenario.ops:
        held = model.perms(by, path)
        full = qualified(principal)
        if "read" not in held:  # even with admin: what you may not read does not exist for you
            expected: type[Exception] | None = NotFound
        elif "admin" not in held:
            expected = PermissionDenied
        elif action == "revoke" and full not in model.acl.get(path, {}):
            expected = NotFound
        else:
            expected = None
        context.act_as(by)
        outcome: type[Exception] | None = None
        try:
            if action == "grant":
                grant(context, path, principal, tuple(sorted(permissions or PERMS)))
            else:
                revoke(context, path, principal, tuple(sorted(permissions)) if permissions else None)
        except (NotFound, PermissionDenied) as e:
            outcome = type(e)
        if outcome is not expected:
            problems.append(f"{action} {path} {principal} {sorted(permissions or [])} by {by}: "
                            f"expected {(expected and expected.__name__) or 'success'}, "
                            f"got {(outcome and outcome.__name__) or 'success'}")
        if outcome is None:
            model.change(path, full, set(permissions or PERMS), add=action == "grant")
    context.act_as("admin")
    return model, problems


def paged(call: Callable[[str | None], object]) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        page = call(cursor)
        found |= {i.path for i in page.items}  # type: ignore[attr-defined]
        cursor = page.next_cursor  # type: ignore[attr-defined]
        if cursor is None:
            return found


def check(provider: Provider, scenario: Scenario) -> None:
    context = open_context(provider)
    model, problems = build(context, scenario)

    items = {i.path: i for i in [provider.get("/"), *provider.walk("/")]}
    assert set(items) == set(model.owner), "the model does not know the same items as the store"
    stored_acl = {p: {e["principal"]: set(e["permissions"]) for e in entries}
                  for p, entries in provider.acl_entries().items()}
    assert stored_acl == model.acl, "grants and revokes did not leave the expected ACL entries"

    children: dict[str, set[str]] = {p: set() for p in items}
    for p in items:
        if p != "/":
            children[p.rsplit("/", 1)[0] or "/"].add(p)

    random_paths = {p for p, _, _ in scenario.nodes}
    viewer = open_context(provider)
    for account in (*OWNERS, "anonymous"):
        viewer.act_as(account)
        readable = model.readable(account)
        for path, item in items.items():
            expected = model.perms(account, path)
            got = set(viewer.guard.permissions(item))
            if got != expected:
                problems.append(f"{account} on {path}: permissions {sorted(got)}, model {sorted(expected)}")
            try:
                viewer.get(path)
                answered = True
            except NotFound:
                answered = False
            if answered != (path in readable):
                problems.append(f"{account}: get {path} {'answered' if answered else 'NotFound'}, "
                                f"model says {'readable' if path in readable else 'hidden'}")
            listable = Model.listable(path, readable)
            try:
                listed = paged(lambda c, path=path: viewer.list(path, limit=7, cursor=c))
            except NotFound:
                listed = None
            if listed is None:
                if listable:
                    problems.append(f"{account}: list {path} NotFound, model says listable "
                                    f"(shows {sorted(children[path] & readable)})")
                continue
            if not listable:
                problems.append(f"{account}: list {path} answered {sorted(listed)}, model says NotFound")
                continue
            shown = (children[path] & readable) | model.on_the_way(account, children[path])
            if listed != shown:
                problems.append(f"{account}: list {path} = {sorted(listed)}, model {sorted(shown)}")
            below = {r for r in readable if strictly_below(r, path)}
            if path == "/" or path in random_paths:
                found = paged(lambda c, path=path: viewer.find(path, limit=9, cursor=c))
                if found != below:
                    problems.append(f"{account}: find {path} extra {sorted(found - below)}, "
                                    f"missing {sorted(below - found)}")
                counted = viewer.count_below(path)
                if counted != len(below):
                    problems.append(f"{account}: count_below {path} = {counted}, model {len(below)}")
    assert not problems, f"{len(problems)} disagreements with the model:\n" + "\n".join(problems[:25])


# An account may read what it owns wherever it lies, so the folders on the way to it can be
# listed (README: "a folder on the way to something you may read can be listed"). Found by
# this test while Context.listable only looked at the read roots of ACL entries.
OWNED_IN_A_FOLDER_OF_SOMEONE_ELSE = Scenario(
    groups={}, promoted=None, nodes=[("/home/alice/a", "Folder", "bob")], ops=[])


def test_access_matches_the_reference_model(store: Store) -> None:
    @settings(max_examples=store.examples, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @example(OWNED_IN_A_FOLDER_OF_SOMEONE_ELSE)
    @given(scenarios())
    def property_holds(scenario: Scenario) -> None:
        with store.fresh() as provider:
            check(provider, scenario)

    property_holds()


def test_what_you_created_stays_reachable_after_a_revoke(store: Store) -> None:
    """The case above, through the API: bob may create in /p, makes /p/q, then loses /p."""
    with store.fresh() as provider:
        admin = open_context(provider)
        admin.ensure_initialized()
        Directory(admin).add_user("bob", password=None)
        admin.create("/p", "Folder")
        grant(admin, "/p", "bob", ("read", "create"))
        bob = open_context(provider, "bob")
        bob.create("/p/q", "Folder")
        revoke(admin, "/p", "bob", None)
        bob.refresh()
        assert bob.get("/p/q").owner == "bob"
        assert [i.path for i in bob.find("/p").items] == ["/p/q"]
        with pytest.raises(NotFound):
            bob.get("/p")
        assert [i.path for i in bob.list("/p").items] == ["/p/q"]


def test_the_model_itself() -> None:
    """The reference model's rules on a hand-made case, so that it is not wrong with Realnet."""
    model = Model(owner={"/": "admin", "/p": "alice", "/p/q": "bob", "/p/q/r": "admin", "/s": "admin"},
                  acl={"/p": {"group:staff": {"read"}}, "/p/q": {"user:carol": {"write"}}},
                  groups={"admins": {"admin", "dave"}, "staff": {"carol"}})
    assert model.perms("alice", "/p") == set(PERMS)
    assert model.perms("alice", "/p/q") == set()  # owning a folder gives nothing below it
    assert model.perms("carol", "/p/q/r") == {"read", "write"}
    assert model.perms("bob", "/p/q") == set(PERMS) and model.perms("bob", "/p/q/r") == set()
    assert model.perms("dave", "/s") == set(PERMS)
    assert model.perms("anonymous", "/p") == set()
    assert model.readable("bob") == {"/p/q"}
    assert Model.listable("/p", model.readable("bob")) and Model.listable("/", model.readable("bob"))
    assert not Model.listable("/s", model.readable("bob"))
