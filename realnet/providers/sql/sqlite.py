"""The embedded default store: one SQLite file in WAL mode."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

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
from realnet.providers.sql.rows import below, now
from realnet.providers.sql.rows import dumps as _dumps
from realnet.providers.sql.rows import row_to_item as _row_to_item
from realnet.providers.sql.rows import rows_to_items as _rows_to_items
from realnet.providers.sql.schema import SQLITE_APPLICATION_ID, SQLITE_MIGRATIONS
from realnet.providers.sql.visibility import visibility_condition

COLUMNS = "id, parent_id, path, type, owner, attributes, version, created, updated, acl"



class SqliteProvider(Provider):
    capabilities = frozenset({"transactions"})

    def __init__(self, db_path: str | Path, *, label: str = "local") -> None:
        self.db_path = Path(db_path)
        self.label = label
        self._lock = threading.RLock()
        self._depth = 0
        self._check_file()
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.db_path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._conn.create_function("rn_uuid", 0, lambda: str(uuid.uuid4()))
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
            self._conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as e:
            with suppress(Exception):
                self._conn.close()
            if "not a database" in str(e):
                raise StoreError(
                    f"{self.db_path}: not a SQLite database (a corrupt or foreign file is in the "
                    "way; move it aside or set REALNET_DB_PATH)"
                ) from None
            raise StoreError(f"{self.db_path}: cannot use as a Realnet store ({e})") from e
        except OSError as e:
            raise StoreError(f"{self.db_path}: cannot open ({e.strerror})") from e

    # -- opening ---------------------------------------------------------------
    def _check_file(self) -> None:
        if not self.db_path.exists():
            return
        if self.db_path.is_dir():
            raise StoreError(f"{self.db_path}: is a directory, expected a SQLite database file")
        # The header is not read here with open(): closing any descriptor of the file
        # drops every POSIX lock this process holds on it, so another store open on the
        # same file in this process (the shell beside its HTTP runner) would lose its WAL
        # locks, and with them writes. SQLite itself says when the file is no database.

    def _migrate(self) -> None:
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != SQLITE_APPLICATION_ID and (tables or version):
            raise StoreError(
                f"{self.db_path}: a SQLite database of another application, not a Realnet store "
                "(set REALNET_DB_PATH to another file)"
            )
        if version > len(SQLITE_MIGRATIONS):
            raise StoreError(
                f"{self.db_path}: schema version {version} is newer than this Realnet "
                f"understands ({len(SQLITE_MIGRATIONS)}); upgrade Realnet"
            )
        if version == len(SQLITE_MIGRATIONS):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(SQLITE_MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(number)}")
            conn.execute(f"PRAGMA application_id = {SQLITE_APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self._conn.close()

    # -- transactions -------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._execute("COMMIT")

    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise StoreError(f"{self.db_path}: the store is busy ({e}); try again") from e
            raise StoreError(f"{self.db_path}: {e}") from e
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.IntegrityError):
                raise
            raise StoreError(f"{self.db_path}: {e}") from e

    def _one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> tuple | None:
        return self._execute(sql, params).fetchone()

    # -- reading -----------------------------------------------------------------
    def get(self, path: str) -> Item:
        row = self._one(f"SELECT {COLUMNS} FROM items WHERE path = ?", (path,))  # noqa: S608
        if row is None:
            raise NotFound(path)
        return _row_to_item(row)

    def get_many(self, wanted: Sequence[str]) -> dict[str, Item]:
        found: dict[str, Item] = {}
        unique = list(dict.fromkeys(wanted))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._execute(
                f"SELECT {COLUMNS} FROM items WHERE path IN ({marks})", chunk  # noqa: S608
            )
            for item in _rows_to_items(rows.fetchall()):
                found[item.path] = item
        return found

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
        where = ["parent_id = (SELECT id FROM items WHERE path = ?)"]
        params: list[Any] = [path]
        if name_prefix:
            where.append("name >= ? AND name < ?")
            params += [name_prefix, name_prefix + "\U0010ffff"]
        seen, seen_params = visibility_condition(visible, "?")
        if seen:
            where.append(seen)
            params += seen_params
        if cursor is not None:
            if column == "name":
                (last,) = cursors.decode(cursor, 1)
                where.append(f"name {op} ?")
                params.append(last)
            else:
                last_key, last_name = cursors.decode(cursor, 2, timestamp=column == "updated")
                where.append(f"({column}, name) {op} (?, ?)")
                params += [last_key, last_name]
        order_by = "name" if column == "name" else f"{column} {direction}, name"
        sql = (
            f"SELECT {COLUMNS} FROM items WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY {order_by} {direction} LIMIT ?"
        )
        rows = self._execute(sql, [*params, limit + 1]).fetchall()
        if not rows and cursor is None:
            self.get(path)  # NotFound for a missing folder
        items = tuple(_rows_to_items(rows[:limit]))
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            if column == "name":
                next_cursor = cursors.encode([last.name])
            else:
                next_cursor = cursors.encode([getattr(last, column), last.name])
        return ChildrenPage(items=items, next_cursor=next_cursor)

    def count_children(self, path: str) -> int:
        row = self._one(
            "SELECT count(*) FROM items WHERE parent_id = (SELECT id FROM items WHERE path = ?)",
            (path,),
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
        condition, params = below(root, "?")
        where = [condition]
        seen, seen_params = visibility_condition(visible, "?")
        if seen:
            where.append(seen)
            params += seen_params
        if cursor is not None:
            (last,) = cursors.decode(cursor, 1)
            where.append("path > ?")
            params.append(last)
        if types:
            where.append(f"type IN ({','.join('?' * len(types))})")
            params += list(types)
        if name_glob:
            where.append("name GLOB ?")
            params.append(cursors.sqlite_glob(name_glob))
        if max_depth is not None:
            where.append("depth <= ?")
            params.append(paths.depth_of(root) + max_depth)
        sql = (
            f"SELECT {COLUMNS} FROM items WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY path LIMIT ?"
        )
        rows = self._execute(sql, [*params, limit + 1]).fetchall()
        items = tuple(_rows_to_items(rows[:limit]))
        next_cursor = cursors.encode([items[-1].path]) if len(rows) > limit else None
        return ChildrenPage(items=items, next_cursor=next_cursor)

    def count_subtree(self, path: str, *, visible: Visibility | None = None) -> int:
        condition, params = below(path, "?")
        seen, seen_params = visibility_condition(visible, "?")
        if seen:
            condition = f"{condition} AND {seen}"
        return self._one(f"SELECT count(*) FROM items WHERE {condition}", [*params, *seen_params])[0]  # noqa: S608

    def acl_entries(self, principals: Iterable[str] | None = None) -> dict[str, tuple[Any, ...]]:
        sql, params = "SELECT path, acl FROM items WHERE acl <> '[]'", []
        if principals is not None:
            # ACL JSON is written compactly, so an entry for P contains "principal":"P".
            wanted = sorted(principals)
            if not wanted:
                return {}
            sql += " AND (" + " OR ".join(["acl LIKE ? ESCAPE '\\'"] * len(wanted)) + ")"
            params = ['%"principal":' + _dumps(p).replace("\\", "\\\\").replace("%", "\\%")
                      .replace("_", "\\_") + "%" for p in wanted]
        rows = self._execute(sql, params).fetchall()
        if not rows:
            return {}
        decoded = json.loads("[" + ",".join(acl for _, acl in rows) + "]")  # one parse for all
        return {path: tuple(entries) for (path, _), entries in zip(rows, decoded, strict=True)}

    def generation(self, key: str) -> int:
        row = self._one("SELECT value FROM realnet_meta WHERE key = ?", (key,))
        return int(row[0]) if row else 0

    def generations(self) -> dict[str, int]:
        return {key: int(value) for key, value in self._execute("SELECT key, value FROM realnet_meta")}

    def change_marker(self) -> tuple[int, int]:
        # data_version moves when another connection commits; total_changes counts this
        # connection's own writes (rolled back ones too: that only costs a miss).
        return self._one("PRAGMA data_version")[0], self._conn.total_changes  # type: ignore[index]

    def bump_generation(self, key: str) -> None:
        self._execute(
            "INSERT INTO realnet_meta (key, value) VALUES (?, '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1", (key,)
        )

    def request_outcome(self, principal: str, request_id: str) -> str | None:
        row = self._one("SELECT outcome FROM handled_requests WHERE principal = ? AND id = ?",
                        (principal, request_id))
        return row[0] if row else None

    def record_request(self, principal: str, request_id: str, outcome: str) -> bool:
        return self._execute(
            "INSERT INTO handled_requests (principal, id, outcome, recorded) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", (principal, request_id, outcome, now())).rowcount == 1

    def forget_requests(self, older_than_seconds: int) -> int:
        from datetime import UTC, datetime, timedelta

        cutoff = (datetime.now(UTC) - timedelta(seconds=older_than_seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.transaction():
            return self._execute("DELETE FROM handled_requests WHERE recorded < ?", (cutoff,)).rowcount

    def referenced_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            batch = list(keys[start:start + 500])
            marks = ",".join("?" * len(batch))
            found.update(row[0] for row in self._execute(
                "SELECT json_extract(attributes, '$.storage_key') FROM items "  # noqa: S608
                f"WHERE json_extract(attributes, '$.storage_key') IN ({marks})", batch))
        return found

    def reassign_owner(self, old: str, new: str) -> int:
        with self.transaction():
            return self._execute("UPDATE items SET owner = ?, version = version + 1 WHERE owner = ?",
                                 (new, old)).rowcount

    def acl_generation(self) -> int:
        return self.generation("acl_generation")

    def _acl_changed(self) -> None:
        self.bump_generation("acl_generation")

    def _carries_acl(self, path: str) -> bool:
        """Whether ``path`` or anything below it has ACL entries (one index range)."""
        condition, params = below(path, "?")
        return self._one(
            f"SELECT 1 FROM items WHERE acl <> '[]' AND (path = ? OR ({condition})) LIMIT 1",  # noqa: S608
            [path, *params],
        ) is not None

    def set_acl(self, path: str, entries: Sequence[Mapping[str, Any]]) -> Item:
        with self.transaction():
            self._acl_changed()
            item = self.get(path)
            self._execute(
                "UPDATE items SET acl = ?, version = version + 1, updated = ? WHERE id = ?",
                (_dumps(list(entries)), max(now(), item.updated), item.id),
            )
            return self.get(path)

    # -- writing -----------------------------------------------------------------
    def _parent_id(self, path: str) -> str | None:
        if path == paths.ROOT:
            return None
        parent = paths.parent_of(path)
        row = self._one("SELECT id FROM items WHERE path = ?", (parent,))
        if row is None:
            raise NotFound(parent, "parent folder does not exist")
        return row[0]

    def _insert(self, draft: ItemDraft, parent_id: str | None) -> Item:
        stamp = now()
        item = Item(
            id=str(uuid.uuid4()),
            path=draft.path,
            type=draft.type,
            parent_id=parent_id,
            owner=draft.owner,
            attributes=dict(draft.attributes),
            acl=tuple(draft.acl),
            version=1,
            created=draft.created or stamp,
            updated=draft.updated or draft.created or stamp,
        )
        try:
            self._execute(
                "INSERT INTO items (id, parent_id, name, path, depth, type, owner, attributes, "
                "acl, version, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (item.id, parent_id, item.name, item.path, paths.depth_of(item.path), item.type,
                 item.owner, _dumps(draft.attributes), _dumps(list(draft.acl)), item.created,
                 item.updated),
            )
        except sqlite3.IntegrityError as e:
            raise AlreadyExists(draft.path) from e
        return item

    def create(self, draft: ItemDraft) -> Item:
        with self.transaction():
            self._note_identity_change(draft.path)
            if draft.acl:
                self._acl_changed()
            return self._insert(draft, self._parent_id(draft.path))

    def insert_many(self, drafts: Iterable[ItemDraft]) -> int:
        ids: dict[str, str] = {}
        stamp = now()
        rows: list[tuple] = []
        with self.transaction():
            for draft in drafts:
                parent = paths.parent_of(draft.path)
                parent_id = ids.get(parent)
                if parent_id is None:
                    parent_id = self._parent_id(draft.path)
                item_id = str(uuid.uuid4())
                ids[draft.path] = item_id
                created = draft.created or stamp
                rows.append((
                    item_id, parent_id, paths.name_of(draft.path), draft.path,
                    paths.depth_of(draft.path), draft.type, draft.owner,
                    _dumps(draft.attributes), _dumps(list(draft.acl)) if draft.acl else "[]",
                    created, draft.updated or created,
                ))
            self._note_identity_change(*(r[3] for r in rows))
            if any(r[8] != "[]" for r in rows):
                self._acl_changed()
            try:
                self._conn.executemany(
                    "INSERT INTO items (id, parent_id, name, path, depth, type, owner, "
                    "attributes, acl, version, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    rows,
                )
            except sqlite3.IntegrityError as e:
                taken = self.get_many([r[3] for r in rows[:1000]])
                where = next(iter(taken), rows[0][3] if rows else "/")
                raise AlreadyExists(where) from e
            except sqlite3.OperationalError as e:  # as _execute translates them
                if "locked" in str(e) or "busy" in str(e):
                    raise StoreError(f"{self.db_path}: the store is busy ({e}); try again") from e
                raise StoreError(f"{self.db_path}: {e}") from e
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.db_path}: {e}") from e
        return len(rows)

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
            stamp = max(now(), current.updated)
            cur = self._execute(
                "UPDATE items SET attributes = ?, version = version + 1, updated = ? "
                "WHERE id = ? AND version = ?",
                (_dumps(attributes), stamp, current.id, current.version),
            )
            if cur.rowcount != 1:
                raise Conflict(f"{path}: changed by someone else meanwhile; read it again and retry")
            return self.get(path)

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
            condition, params = below(path, "?")
            self._execute(f"DELETE FROM items WHERE {condition}", params)  # noqa: S608
            self._execute("DELETE FROM items WHERE id = ?", (item.id,))
            return count + 1

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
            condition, params = below(source, "?")
            delta = paths.depth_of(target) - paths.depth_of(source)
            self._execute(
                "UPDATE items SET path = ? || substr(path, ?), depth = depth + ? "  # noqa: S608
                f"WHERE {condition}",
                [target, len(source) + 1, delta, *params],
            )
            self._execute(
                "UPDATE items SET path = ?, name = ?, parent_id = ?, depth = ?, "
                "version = version + 1, updated = ? WHERE id = ?",
                (target, paths.name_of(target), parent_id, paths.depth_of(target), now(), item.id),
            )
            return self.get(target)

    def copy(self, source: str, target: str, *, owner: str) -> Item:
        with self.transaction():
            self._note_identity_change(target)
            item, parent_id = self._check_target(source, target)
            if self._carries_acl(source):
                self._acl_changed()
            condition, params = below(source, "?")
            stamp = now()
            self._execute("CREATE TEMP TABLE IF NOT EXISTS copy_map (old TEXT PRIMARY KEY, new TEXT)")
            self._execute("DELETE FROM copy_map")
            self._execute(
                "INSERT INTO copy_map SELECT id, rn_uuid() FROM items "  # noqa: S608
                f"WHERE id = ? OR ({condition})",
                [item.id, *params],
            )
            self._execute(
                "INSERT INTO items (id, parent_id, name, path, depth, type, owner, attributes, "
                "acl, version, created, updated) "
                "SELECT m.new, coalesce(pm.new, ?), CASE WHEN i.id = ? THEN ? ELSE i.name END, "
                "? || substr(i.path, ?), i.depth + ?, i.type, ?, i.attributes, i.acl, 1, ?, ? "
                "FROM items i JOIN copy_map m ON m.old = i.id "
                "LEFT JOIN copy_map pm ON pm.old = i.parent_id",
                (parent_id, item.id, paths.name_of(target), target, len(source) + 1,
                 paths.depth_of(target) - paths.depth_of(source), owner, stamp, stamp),
            )
            self._execute("DELETE FROM copy_map")
            return self.get(target)
