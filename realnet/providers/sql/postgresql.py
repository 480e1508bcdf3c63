"""The production store: PostgreSQL through psycopg 3 and a connection pool.

Every statement is parameterised. Writes that take several statements run in one
transaction; races between replicas are settled by the database (unique indexes,
``UPDATE … WHERE version = …``, advisory locks), never by a read-then-write.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from realnet.core import paths
from realnet.core.access import Visibility
from realnet.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidPath,
    NotEmpty,
    NotFound,
    StoreError,
)
from realnet.core.item import ChildrenPage, Item, ItemDraft
from realnet.providers.base import Provider
from realnet.providers.sql import cursors
from realnet.providers.sql.pg_errors import describe_connect_error
from realnet.providers.sql.rows import below, dumps, now, row_to_item, rows_to_items
from realnet.providers.sql.schema import POSTGRESQL_MIGRATIONS
from realnet.providers.sql.visibility import visibility_condition

# The pool warns (in several lines) each time it fails to reconnect in the background; a
# command reports a lost database itself, in one line. Without a handler of its own,
# Python's last-resort handler would print those warnings on stderr, across the shell's
# prompt; a server that configures logging still receives them through the root logger.
logging.getLogger("psycopg").addHandler(logging.NullHandler())

TIME = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
COLUMNS = (
    "id::text, parent_id::text, path, type, owner, attributes::text, version, "
    f"{TIME.format('created')}, {TIME.format('updated')}, acl::text"
)
IDLE_CHECK_SECONDS = 2.0
COPY_COLUMNS = "(id, parent_id, name, path, depth, type, owner, attributes, acl, version, created, updated)"



class PostgresProvider(Provider):
    capabilities = frozenset({"transactions", "replicas"})

    def __init__(self, conninfo: str, *, label: str, pool_size: int = 8, timeout: float = 10.0) -> None:
        self.label = label
        self._conninfo = conninfo
        self._timeout = timeout
        self._current: contextvars.ContextVar[psycopg.Connection | None] = contextvars.ContextVar(
            f"realnet-pg-{id(self)}", default=None
        )
        # Connect once directly: a wrong password or a missing database is reported now,
        # in one line, instead of as a pool time-out later.
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=int(timeout)) as conn:
                self._migrate(conn)
        except psycopg.OperationalError as e:
            raise StoreError(describe_connect_error(e, label, conninfo)) from e
        except psycopg.ProgrammingError:
            # libpq could not read the connection string; its message quotes it, password and all.
            raise StoreError("REALNET_DB_URL: not a connection URL libpq can read (write spaces, '%' and "
                             "'@' in the user name or password percent-encoded, and only libpq's "
                             "query parameters)") from None
        self._returned: dict[int, float] = {}
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "connect_timeout": int(timeout)},
            check=self._check_if_idle,
            reset=self._stamp_returned,
            timeout=timeout,
            open=True,
            name="realnet",
        )

    # -- pool hooks ------------------------------------------------------------
    def _stamp_returned(self, conn: psycopg.Connection) -> None:
        self._returned[id(conn)] = time.monotonic()

    def _check_if_idle(self, conn: psycopg.Connection) -> None:
        # A ping on every checkout doubles the round trips of every call; a connection
        # used moments ago is almost surely alive, and one that died in use is
        # reported as a lost connection and discarded by the pool.
        if time.monotonic() - self._returned.get(id(conn), 0.0) > IDLE_CHECK_SECONDS:
            ConnectionPool.check_connection(conn)

    # -- opening ---------------------------------------------------------------
    def _migrate(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('realnet-schema'))")
            has_schema = conn.execute("SELECT to_regclass('realnet_schema')").fetchone()[0]
            if has_schema is None:
                if conn.execute("SELECT to_regclass('items')").fetchone()[0] is not None:
                    raise StoreError(
                        f"{self.label}: the database holds an 'items' table of another "
                        "application, not a Realnet store (set REALNET_DB_NAME to another database)"
                    )
                conn.execute("CREATE TABLE realnet_schema (version integer NOT NULL)")
                conn.execute("INSERT INTO realnet_schema VALUES (0)")
            version = conn.execute("SELECT version FROM realnet_schema").fetchone()[0]
            if version > len(POSTGRESQL_MIGRATIONS):
                raise StoreError(
                    f"{self.label}: schema version {version} is newer than this Realnet "
                    f"understands ({len(POSTGRESQL_MIGRATIONS)}); upgrade Realnet"
                )
            for number, script in enumerate(POSTGRESQL_MIGRATIONS[version:], start=version + 1):
                conn.execute(script)
                conn.execute("UPDATE realnet_schema SET version = %s", (number,))
            self._schema_version = len(POSTGRESQL_MIGRATIONS)

    @property
    def schema_version(self) -> int:
        return self._schema_version

    def close(self) -> None:
        self._pool.close()

    # -- connections and transactions ---------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        current = self._current.get()
        if current is not None:
            yield current
            return
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as e:
            raise StoreError(
                f"{self.label}: no database connection within {self._timeout:g} s "
                "(is PostgreSQL running and reachable?)"
            ) from e

    @contextmanager
    def transaction(self) -> Iterator[None]:
        current = self._current.get()
        if current is not None:
            with self._translate(), current.transaction():
                yield
            return
        for attempt in (1, 2):
            with self._connection() as conn:
                # A write transaction starts on a connection known to be alive: after a
                # database restart the first write then succeeds instead of failing once.
                try:
                    ConnectionPool.check_connection(conn)
                except psycopg.OperationalError as e:
                    self._pool.check()
                    if attempt == 2:
                        raise StoreError(f"{self.label}: lost the database connection "
                                         f"({_first_line(e)}); try again") from e
                    continue  # the dead connection goes back to the pool, which drops it
                token = self._current.set(conn)
                try:
                    with self._translate(), conn.transaction():
                        yield
                finally:
                    self._current.reset(token)
                return

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except pg_errors.UniqueViolation as e:
            raise AlreadyExists(_duplicate_path(e)) from e
        except psycopg.OperationalError as e:
            self._pool.check()  # replace every dead connection, so the next call works
            raise StoreError(f"{self.label}: lost the database connection ({_first_line(e)}); "
                             "try again") from e
        except psycopg.Error as e:
            raise StoreError(f"{self.label}: {_first_line(e)}") from e

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self._current.get() is not None:
            with self._translate(), self._connection() as conn:
                return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
        # Outside a transaction every statement is a read, so after a lost connection
        # (a database restart) it is safe to try once more on a fresh one.
        try:
            with self._translate(), self._connection() as conn:
                return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
        except StoreError as e:
            if not isinstance(e.__cause__, psycopg.OperationalError):
                raise
        with self._translate(), self._connection() as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._translate(), self._connection() as conn:
            return conn.execute(sql, params).rowcount  # type: ignore[arg-type]

    def lock(self, name: str) -> None:
        self._run("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))

    # -- reading -----------------------------------------------------------------
    def get(self, path: str) -> Item:
        row = self._one(f"SELECT {COLUMNS} FROM items WHERE path = %s", (path,))  # noqa: S608
        if row is None:
            raise NotFound(path)
        return row_to_item(row)

    def get_for_update(self, path: str) -> Item:
        row = self._one(f"SELECT {COLUMNS} FROM items WHERE path = %s FOR UPDATE", (path,))  # noqa: S608
        if row is None:
            raise NotFound(path)
        return row_to_item(row)

    def get_many(self, wanted: Sequence[str]) -> dict[str, Item]:
        unique = list(dict.fromkeys(wanted))
        if not unique:
            return {}
        rows = self._rows(f"SELECT {COLUMNS} FROM items WHERE path = ANY(%s)", (unique,))  # noqa: S608
        return {item.path: item for item in rows_to_items(rows)}

    def children(
        self,
        path: str,
        *,
        order: str = "name",
        limit: int = 100,
        cursor: str | None = None,
        name_prefix: str | None = None,
        visible: Visibility | None = None,
    ) -> ChildrenPage:
        key, descending = cursors.parse_order(order)
        column = cursors.ORDER_COLUMNS[key]
        op, direction = ("<", "DESC") if descending else (">", "ASC")
        where = ["parent_id = (SELECT id FROM items WHERE path = %s)"]
        params: list[Any] = [path]
        if name_prefix:
            where.append("name >= %s AND name < %s")
            params += [name_prefix, name_prefix + "\U0010ffff"]
        seen, seen_params = visibility_condition(visible, "%s")
        if seen:
            where.append(seen)
            params += seen_params
        if cursor is not None:
            if column == "name":
                (last,) = cursors.decode(cursor, 1)
                where.append(f"name {op} %s")
                params.append(last)
            else:
                last_key, last_name = cursors.decode(cursor, 2, timestamp=column == "updated")
                cast = "::timestamptz" if column == "updated" else ""
                where.append(f"({column}, name) {op} (%s{cast}, %s)")
                params += [last_key, last_name]
        order_by = f"name {direction}" if column == "name" else f"{column} {direction}, name {direction}"
        sql = f"SELECT {COLUMNS} FROM items WHERE {' AND '.join(where)} ORDER BY {order_by} LIMIT %s"  # noqa: S608
        rows = self._rows(sql, [*params, limit + 1])
        if not rows and cursor is None:
            self.get(path)
        items = tuple(rows_to_items(rows[:limit]))
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            values = [last.name] if column == "name" else [getattr(last, column), last.name]
            next_cursor = cursors.encode(values)
        return ChildrenPage(items=items, next_cursor=next_cursor)

    def count_children(self, path: str) -> int:
        row = self._one(
            "SELECT count(*) FROM items WHERE parent_id = (SELECT id FROM items WHERE path = %s)", (path,)
        )
        return row[0] if row else 0

    def search(
        self,
        root: str,
        *,
        types: Sequence[str] | None = None,
        name_glob: str | None = None,
        max_depth: int | None = None,
        limit: int = 1000,
        cursor: str | None = None,
        visible: Visibility | None = None,
    ) -> ChildrenPage:
        condition, params = below(root, "%s")
        where = [condition]
        seen, seen_params = visibility_condition(visible, "%s")
        if seen:
            where.append(seen)
            params += seen_params
        if cursor is not None:
            (last,) = cursors.decode(cursor, 1)
            where.append("path > %s")
            params.append(last)
        if types:
            where.append("type = ANY(%s)")
            params.append(list(types))
        if name_glob:
            where.append("name ~ %s")
            params.append(glob_to_regex(name_glob))
        if max_depth is not None:
            where.append("depth <= %s")
            params.append(paths.depth_of(root) + max_depth)
        sql = f"SELECT {COLUMNS} FROM items WHERE {' AND '.join(where)} ORDER BY path LIMIT %s"  # noqa: S608
        rows = self._rows(sql, [*params, limit + 1])
        items = tuple(rows_to_items(rows[:limit]))
        next_cursor = cursors.encode([items[-1].path]) if len(rows) > limit else None
        return ChildrenPage(items=items, next_cursor=next_cursor)

    def count_subtree(self, path: str, *, visible: Visibility | None = None) -> int:
        condition, params = below(path, "%s")
        seen, seen_params = visibility_condition(visible, "%s")
        if seen:
            condition = f"{condition} AND {seen}"
        return self._one(f"SELECT count(*) FROM items WHERE {condition}", [*params, *seen_params])[0]  # noqa: S608

    def acl_entries(self, principals: Iterable[str] | None = None) -> dict[str, tuple[Any, ...]]:
        sql, params = "SELECT path, acl::text FROM items WHERE acl <> '[]'::jsonb", []
        if principals is not None:
            wanted = sorted(principals)
            if not wanted:
                return {}
            sql += " AND acl @> ANY(%s::jsonb[])"
            params = [[dumps([{"principal": p}]) for p in wanted]]
        rows = self._rows(sql, params)
        if not rows:
            return {}
        decoded = json.loads("[" + ",".join(acl for _, acl in rows) + "]")  # one parse for all
        return {path: tuple(entries) for (path, _), entries in zip(rows, decoded, strict=True)}

    def generation(self, key: str) -> int:
        row = self._one("SELECT value FROM realnet_meta WHERE key = %s", (key,))
        return int(row[0]) if row else 0

    def generations(self) -> dict[str, int]:
        return {key: int(value) for key, value in self._rows("SELECT key, value FROM realnet_meta")}

    def change_marker(self) -> str:
        # The snapshot (xmin:xmax:in-progress ids) changes whenever a transaction that wrote
        # anything ends: it was either in progress at the last read (and leaves the list) or
        # began after it (and moves xmax). Read-only transactions take no id and move nothing.
        row = self._one("SELECT pg_current_snapshot()::text")
        assert row is not None
        return str(row[0])

    def bump_generation(self, key: str) -> None:
        self._run(
            "INSERT INTO realnet_meta (key, value) VALUES (%s, 1) ON CONFLICT (key) "
            "DO UPDATE SET value = realnet_meta.value + 1", (key,)
        )

    def request_outcome(self, principal: str, request_id: str) -> str | None:
        row = self._one("SELECT outcome FROM handled_requests WHERE principal = %s AND id = %s",
                        (principal, request_id))
        return row[0] if row else None

    def record_request(self, principal: str, request_id: str, outcome: str) -> bool:
        # A concurrent worker's uncommitted row makes this wait for its end, then do nothing.
        return self._run(
            "INSERT INTO handled_requests (principal, id, outcome) VALUES (%s, %s, %s) "
            "ON CONFLICT (principal, id) DO NOTHING", (principal, request_id, outcome)) == 1

    def forget_requests(self, older_than_seconds: int) -> int:
        with self.transaction():
            return self._run("DELETE FROM handled_requests "
                             "WHERE recorded < now() - make_interval(secs => %s)", (older_than_seconds,))

    def referenced_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = self._rows("SELECT attributes->>'storage_key' FROM items "
                          "WHERE attributes ? 'storage_key' AND attributes->>'storage_key' = ANY(%s)",
                          (list(keys),))
        return {row[0] for row in rows}

    def reassign_owner(self, old: str, new: str) -> int:
        with self.transaction():
            return self._run("UPDATE items SET owner = %s, version = version + 1 WHERE owner = %s",
                             (new, old))

    def acl_generation(self) -> int:
        return self.generation("acl_generation")

    def _acl_changed(self) -> None:
        self.bump_generation("acl_generation")

    def _carries_acl(self, path: str) -> bool:
        """Whether ``path`` or anything below it has ACL entries (one index range)."""
        condition, params = below(path, "%s")
        return self._one(
            f"SELECT 1 FROM items WHERE acl <> '[]'::jsonb AND (path = %s OR ({condition})) LIMIT 1",  # noqa: S608
            [path, *params],
        ) is not None

    def set_acl(self, path: str, entries: Sequence[Mapping[str, Any]]) -> Item:
        with self.transaction():
            self._acl_changed()
            item = self.get_for_update(path)
            row = self._one(
                "UPDATE items SET acl = %s::jsonb, version = version + 1, "  # noqa: S608
                f"updated = greatest(%s::timestamptz, updated) WHERE id = %s RETURNING {COLUMNS}",
                (dumps(list(entries)), now(), item.id),
            )
            return row_to_item(row)

    # -- writing -----------------------------------------------------------------
    def _parent_id(self, path: str) -> str | None:
        if path == paths.ROOT:
            return None
        parent = paths.parent_of(path)
        # KEY SHARE: a delete of the parent waits for this insert, or this waits for it
        # and finds the parent gone, instead of failing on the foreign key.
        row = self._one("SELECT id::text FROM items WHERE path = %s FOR KEY SHARE", (parent,))
        if row is None:
            raise NotFound(parent, "parent folder does not exist")
        return row[0]

    def create(self, draft: ItemDraft) -> Item:
        with self.transaction():
            self._note_identity_change(draft.path)
            if draft.acl:
                self._acl_changed()
            parent_id = self._parent_id(draft.path)
            stamp = now()
            created = draft.created or stamp
            try:
                row = self._one(
                    "INSERT INTO items (id, parent_id, name, path, depth, type, owner, attributes, "  # noqa: S608
                    "acl, version, created, updated) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, 1, %s, %s) "
                    f"RETURNING {COLUMNS}",
                    (str(uuid.uuid4()), parent_id, paths.name_of(draft.path), draft.path,
                     paths.depth_of(draft.path), draft.type, draft.owner, dumps(draft.attributes),
                     dumps(list(draft.acl)), created, draft.updated or created),
                )
            except AlreadyExists as e:
                raise AlreadyExists(draft.path) from e
            return row_to_item(row)

    def insert_many(self, drafts: Iterable[ItemDraft]) -> int:
        batch = list(drafts)
        ids: dict[str, str] = {d.path: str(uuid.uuid4()) for d in batch}
        outside = {paths.parent_of(d.path) for d in batch if d.path != paths.ROOT} - ids.keys()
        found = self.get_many(sorted(outside))
        for parent in outside:
            if parent not in found:
                raise NotFound(parent, "parent folder does not exist")
            ids[parent] = found[parent].id
        stamp = now()
        with self.transaction():
            self._note_identity_change(*(d.path for d in batch))
            if any(d.acl for d in batch):
                self._acl_changed()  # in the same transaction as the rows
            with self._connection() as conn, conn.cursor() as cur, \
                    cur.copy(f"COPY items {COPY_COLUMNS} FROM STDIN") as copy:
                for draft in batch:
                    created = draft.created or stamp
                    copy.write_row((
                        ids[draft.path], ids[paths.parent_of(draft.path)], paths.name_of(draft.path),
                        draft.path, paths.depth_of(draft.path), draft.type, draft.owner,
                        dumps(draft.attributes), dumps(list(draft.acl)) if draft.acl else "[]", 1,
                        created, draft.updated or created,
                    ))
        return len(batch)

    def update(
        self,
        path: str,
        attributes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> Item:
        with self.transaction():
            self._note_identity_change(path)
            current = self.get(path)
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"{path}: version {expected_version} is stale (current version is "
                    f"{current.version}); read the item again and retry"
                )
            row = self._one(
                "UPDATE items SET attributes = %s::jsonb, version = version + 1, "  # noqa: S608
                "updated = greatest(%s::timestamptz, updated) WHERE id = %s AND version = %s "
                f"RETURNING {COLUMNS}",
                (dumps(attributes), now(), current.id, current.version),
            )
            if row is None:
                raise Conflict(f"{path}: changed by someone else meanwhile; read it again and retry")
            return row_to_item(row)

    def delete(self, path: str, *, recursive: bool = False) -> int:
        if path == paths.ROOT:
            raise InvalidPath("/: the root cannot be deleted")
        with self.transaction():
            self._note_identity_change(path)
            item = self.get(path)
            count = self.count_subtree(path)
            if count and not recursive:
                raise NotEmpty(f"{path}: not empty ({count} items below); use -r to delete it all")
            if self._carries_acl(path):
                self._acl_changed()
            self._lock_subtree(item.id, path)
            condition, params = below(path, "%s")
            removed = self._run(f"DELETE FROM items WHERE {condition} OR id = %s", [*params, item.id])  # noqa: S608
            return removed

    def _lock_subtree(self, item_id: str, path: str) -> None:
        """Lock the item at ``path`` and everything below it before moving or deleting them.

        A create takes KEY SHARE on its parent only, and a statement sees the rows committed
        before it began: a range UPDATE or DELETE that waited for a create in the subtree
        would miss the child it added (left under its old path, or failing the foreign key).
        Locking until no new row turns up waits for every create in flight and makes every
        later one wait for this transaction, and then find its parent gone or moved."""
        current = self._one("SELECT path FROM items WHERE id = %s FOR UPDATE", (item_id,))
        if current is None or current[0] != path:
            raise Conflict(f"{path}: moved or deleted by someone else meanwhile; retry")
        condition, params = below(path, "%s")
        locked: set[str] = {item_id}
        while True:
            rows = self._rows(f"SELECT id::text FROM items WHERE id = %s OR ({condition}) FOR UPDATE",  # noqa: S608
                              [item_id, *params])
            found = {r[0] for r in rows}
            if found <= locked:
                return
            locked |= found

    def _check_target(self, source: str, target: str) -> tuple[Item, str]:
        if source == paths.ROOT:
            raise InvalidPath("/: the root cannot be moved or copied")
        if paths.is_within(target, source):
            raise InvalidPath(f"{target}: cannot move or copy {source} into itself")
        item = self.get(source)
        parent_id = self._parent_id(target)
        if self.exists(target):
            raise AlreadyExists(target)
        return item, parent_id  # type: ignore[return-value]

    def move(self, source: str, target: str) -> Item:
        with self.transaction():
            self._note_identity_change(source, target)
            item, parent_id = self._check_target(source, target)
            if self._carries_acl(source):
                self._acl_changed()
            self._lock_subtree(item.id, source)
            condition, params = below(source, "%s")
            delta = paths.depth_of(target) - paths.depth_of(source)
            self._run(
                "UPDATE items SET path = %s || substr(path, %s), depth = depth + %s "  # noqa: S608
                f"WHERE {condition}",
                [target, len(source) + 1, delta, *params],
            )
            self._run(
                "UPDATE items SET path = %s, name = %s, parent_id = %s, depth = %s, "
                "version = version + 1, updated = %s WHERE id = %s",
                (target, paths.name_of(target), parent_id, paths.depth_of(target), now(), item.id),
            )
            return self.get(target)

    def copy(self, source: str, target: str, *, owner: str) -> Item:
        with self.transaction():
            self._note_identity_change(target)
            item, parent_id = self._check_target(source, target)
            if self._carries_acl(source):
                self._acl_changed()
            condition, params = below(source, "%s")
            stamp = now()
            self._run(
                "WITH src AS MATERIALIZED (SELECT * FROM items WHERE id = %s OR "  # noqa: S608
                f"({condition})), "
                "m AS MATERIALIZED (SELECT id AS old, gen_random_uuid() AS new FROM src) "
                "INSERT INTO items (id, parent_id, name, path, depth, type, owner, attributes, "
                "acl, version, created, updated) "
                "SELECT m.new, coalesce(pm.new, %s::uuid), "
                "CASE WHEN i.id = %s THEN %s ELSE i.name END, %s || substr(i.path, %s), "
                "i.depth + %s, i.type, %s, i.attributes, i.acl, 1, %s, %s "
                "FROM src i JOIN m ON m.old = i.id LEFT JOIN m pm ON pm.old = i.parent_id",
                [item.id, *params, parent_id, item.id, paths.name_of(target), target,
                 len(source) + 1, paths.depth_of(target) - paths.depth_of(source), owner, stamp, stamp],
            )
            return self.get(target)


def glob_to_regex(glob: str) -> str:
    """Shell glob (``*``, ``?``, ``[…]``) to an anchored POSIX regular expression."""
    out = ["^"]
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end == -1:
                out.append("\\[")
            else:
                body = glob[i + 1 : end]
                if body.startswith(("!", "^")):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append("\\" + ch if not ch.isalnum() and ch != " " else ch)
        i += 1
    out.append("$")
    return "".join(out)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _duplicate_path(error: Exception) -> str:
    detail = getattr(getattr(error, "diag", None), "message_detail", None) or ""
    if "(path)=(" in detail:
        return detail.split("(path)=(", 1)[1].rsplit(")", 1)[0]
    return "item"
