"""The API caches token checks, groups, ACL entries and types between requests; every
change to them, from any connection, must take effect on the very next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from realnet.app import open_context
from realnet.config import load_settings
from realnet.resources.accounts import Directory, grant, revoke


@pytest.fixture
def local(api):
    """A second connection to the store the server uses, as the shell would hold."""
    ctx = open_context(load_settings())
    yield ctx
    ctx.provider.close()


def user_token(local, name: str = "ann", expires: str | None = None) -> str:
    directory = Directory(local)
    if name not in [u.name for u in directory.users()]:
        directory.add_user(name, password=None)
    label = f"t{len(directory.tokens(name))}"
    return directory.create_token(name, label, expires=expires).token


def get(api, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{api.url}/api/v1/items{path}", headers=api.headers(token))


def test_revoking_a_cached_token_takes_effect_at_once(api, local):
    token = user_token(local)
    assert get(api, "/home/ann", token).status_code == 200
    assert get(api, "/home/ann", token).status_code == 200  # now served from the cache
    Directory(local).revoke_token("ann", "t0")
    answer = get(api, "/home/ann", token)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"


def test_disabling_an_account_refuses_its_cached_token(api, local):
    token = user_token(local)
    assert get(api, "/home/ann", token).status_code == 200
    account = Directory(local).account("ann")
    local.update(account.path, {"disabled": True})
    assert get(api, "/home/ann", token).status_code == 401


def test_group_membership_changes_apply_to_the_next_request(api, local):
    token = user_token(local)
    local.create("/team", "Folder")
    directory = Directory(local)
    directory.add_group("editors")
    grant(local, "/team", "group:editors", ("read",))
    assert get(api, "/team", token).status_code == 404
    directory.change_membership("editors", "ann", add=True)
    assert get(api, "/team", token).status_code == 200
    directory.change_membership("editors", "ann", add=False)
    assert get(api, "/team", token).status_code == 404


def test_acl_changes_apply_to_the_next_request(api, local):
    token = user_token(local)
    local.create("/shared", "Folder")
    assert get(api, "/shared", token).status_code == 404
    grant(local, "/shared", "ann", ("read",))
    assert get(api, "/shared", token).status_code == 200
    revoke(local, "/shared", "ann", None)
    assert get(api, "/shared", token).status_code == 404


def test_a_type_created_elsewhere_is_usable_at_once(api, local):
    body = {"name": "w", "type": "Widget", "attributes": {"size": 3}}
    url = f"{api.url}/api/v1/items/"
    refused = httpx.post(url, json=body, headers=api.headers())
    assert refused.status_code == 422 and "unknown type 'Widget'" in refused.json()["error"]["message"]
    local.create("/types/Widget", "Type", {"definition": {
        "name": "Widget", "base": "Item", "attributes": {"size": "int"}}})
    created = httpx.post(url, json=body, headers=api.headers())
    assert created.status_code == 201, created.text
    assert created.json()["attributes"] == {"size": 3}


def test_a_cached_token_still_expires_on_time(api, local, monkeypatch):
    from realnet.resources import accounts
    from realnet.runners import gateway

    token = user_token(local, expires="1h")
    assert get(api, "/home/ann", token).status_code == 200

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(UTC) + timedelta(hours=2)

    # Two hours on, with the cache trusted for a day: it must compare with the expiry itself.
    monkeypatch.setattr(gateway, "TOKEN_RECHECK", timedelta(days=1))
    monkeypatch.setattr(gateway, "datetime", Later)
    monkeypatch.setattr(accounts, "_now", Later.now)
    answer = get(api, "/home/ann", token)
    assert answer.status_code == 401, answer.text
