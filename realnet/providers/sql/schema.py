"""Versioned schema for SQL stores.

Items keep a materialised ``path`` beside ``parent_id`` so that a path resolves
with one index lookup and a subtree is one index range (``path`` between
``P/`` and ``P0``: ``0`` is the character after ``/``), whatever the tree's size.
Every migration is applied in one transaction; the store records its version.
"""

from __future__ import annotations

#: 'RNET' — marks a SQLite file as a Realnet store (PRAGMA application_id).
SQLITE_APPLICATION_ID = 0x524E4554

SQLITE_MIGRATIONS: tuple[str, ...] = (
    # 1: the item table and the indexes every listing and lookup relies on.
    """
    CREATE TABLE items (
        id          TEXT PRIMARY KEY,
        parent_id   TEXT REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED,
        name        TEXT NOT NULL,
        path        TEXT NOT NULL UNIQUE,
        depth       INTEGER NOT NULL,
        type        TEXT NOT NULL,
        owner       TEXT NOT NULL,
        attributes  TEXT NOT NULL DEFAULT '{}',
        acl         TEXT NOT NULL DEFAULT '[]',
        version     INTEGER NOT NULL DEFAULT 1,
        created     TEXT NOT NULL,
        updated     TEXT NOT NULL
    );
    CREATE UNIQUE INDEX items_parent_name ON items(parent_id, name);
    CREATE INDEX items_parent_type ON items(parent_id, type, name);
    CREATE INDEX items_parent_updated ON items(parent_id, updated, name);
    CREATE INDEX items_type ON items(type, path);
    CREATE TABLE realnet_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: items that carry ACL entries are few and read on every permission check.
    """
    CREATE INDEX items_with_acl ON items(path) WHERE acl <> '[]';
    """,
    # 3: "does this account own anything below here?" without scanning the subtree.
    """
    CREATE INDEX items_owner ON items(owner, path);
    """,
    # 4: "does any item still use this content?" when items are deleted or replaced.
    """
    CREATE INDEX items_storage_key ON items(json_extract(attributes, '$.storage_key'))
        WHERE json_extract(attributes, '$.storage_key') IS NOT NULL;
    """,
    # 5: requests the SQS runner applied, so that a redelivery is answered, not applied again.
    """
    CREATE TABLE handled_requests (
        principal TEXT NOT NULL,
        id        TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        recorded  TEXT NOT NULL,
        PRIMARY KEY (principal, id)
    ) WITHOUT ROWID;
    CREATE INDEX handled_requests_recorded ON handled_requests(recorded);
    """,
)

#: PostgreSQL: ``COLLATE "C"`` makes path order bytewise, as in SQLite, so that a
#: subtree is one range of the unique path index whatever the database's locale.
POSTGRESQL_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE items (
        id          uuid PRIMARY KEY,
        parent_id   uuid REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED,
        name        text COLLATE "C" NOT NULL,
        path        text COLLATE "C" NOT NULL UNIQUE,
        depth       integer NOT NULL,
        type        text COLLATE "C" NOT NULL,
        owner       text NOT NULL,
        attributes  jsonb NOT NULL DEFAULT '{}',
        acl         jsonb NOT NULL DEFAULT '[]',
        version     bigint NOT NULL DEFAULT 1,
        created     timestamptz NOT NULL,
        updated     timestamptz NOT NULL
    );
    CREATE UNIQUE INDEX items_parent_name ON items(parent_id, name);
    CREATE INDEX items_parent_type ON items(parent_id, type, name);
    CREATE INDEX items_parent_updated ON items(parent_id, updated, name);
    CREATE INDEX items_type ON items(type, path);
    """,
    # 2: items that carry ACL entries are few and read on every permission check.
    """
    CREATE INDEX items_with_acl ON items(path) WHERE acl <> '[]'::jsonb;
    """,
    # 3: "does this account own anything below here?" without scanning the subtree.
    """
    CREATE INDEX items_owner ON items(owner, path COLLATE "C");
    """,
    # 4: small counters shared by replicas (the ACL generation that caches key on).
    """
    CREATE TABLE realnet_meta (key text PRIMARY KEY, value bigint NOT NULL);
    """,
    # 5: "does any item still use this content?" when items are deleted or replaced.
    """
    CREATE INDEX items_storage_key ON items ((attributes->>'storage_key'))
        WHERE attributes ? 'storage_key';
    """,
    # 6: requests the SQS runner applied, so that a redelivery is answered, not applied again.
    """
    CREATE TABLE handled_requests (
        principal text NOT NULL,
        id        text NOT NULL,
        outcome   text NOT NULL,
        recorded  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (principal, id)
    );
    CREATE INDEX handled_requests_recorded ON handled_requests(recorded);
    """,
)
