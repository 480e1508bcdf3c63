"""Wrong S3 credentials (issue #6), against a moto endpoint that checks them.

moto accepts any credentials unless told otherwise; ``s3_checked`` runs it as its own
process with IAM checks on (tests/s3server.py, ``MotoProcess.require_credentials``), so a
request must be signed with the one access key made there. The right key must work, or
the other tests would pass on a server that refuses everything. A wrong key id or a wrong
secret must give one line that names the settings to fix, never the secret, never a
traceback, and must leave no item and no bytes behind.

The failing commands run as ``python -m realnet`` child processes, so that everything
written to the real stderr (warnings and log lines too) is seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

MiB = 1024 * 1024
TIMEOUT = 300  # seconds: a hang detector for child processes, not a performance bound
SIZES = [6, 9 * MiB + 1]  # one PUT; a multipart upload (more than one 8 MiB part)
SIZE_IDS = ["small", "multipart"]
WRONG_KEY_ID = "AKIAWRONGWRONGWRONG1"  # shaped like a key id, unknown to the endpoint


@pytest.fixture
def wrong_secret() -> str:
    return f"wrong-secret-{uuid.uuid4().hex}"


def realnet(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m realnet ARGS`` as its own process, with this test's environment."""
    return subprocess.run([sys.executable, "-m", "realnet", *args], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT)


def data_of(size: int) -> bytes:
    return os.urandom(size)


def objects(s3) -> set[str]:
    """Every complete object in the test's bucket, seen with the good credentials."""
    client = s3.client()
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
        return {entry["Key"] for page in pages for entry in page.get("Contents", ())}
    finally:
        client.close()


def pending_uploads(s3) -> list[str]:
    client = s3.client()
    try:
        return [u["Key"] for u in client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", ())]
    finally:
        client.close()


def names_in(cli, folder: str) -> list[str]:
    result = cli("ls", folder)
    assert result.code == 0, result.err
    return result.out.split()


def refused(done: subprocess.CompletedProcess[bytes], code: str, *secrets: str) -> str:
    """One line, exit 1, the S3 error code and the settings named, no secret anywhere."""
    err = done.stderr.decode()
    assert done.returncode == 1, (done.returncode, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err, err
    assert f"credentials were refused ({code})" in err, err
    assert "REALNET_STORAGE_S3_KEY" in err and "REALNET_STORAGE_S3_SECRET" in err, err
    for secret in secrets:
        assert secret.encode() not in done.stdout + done.stderr, "a secret was printed"
    return err


def break_credentials(monkeypatch: pytest.MonkeyPatch, s3, wrong: str, wrong_secret: str) -> str:
    """Make one of the two settings wrong; returns the error code S3 answers with."""
    if wrong == "key":
        monkeypatch.setenv("REALNET_STORAGE_S3_KEY", WRONG_KEY_ID)
        return "InvalidAccessKeyId"
    monkeypatch.setenv("REALNET_STORAGE_S3_SECRET", wrong_secret)
    return "SignatureDoesNotMatch"


# -- the endpoint really checks, and the right key really works ---------------------------


def test_the_endpoint_refuses_any_other_credentials(s3_checked, wrong_secret):
    """Without this, every test below could pass against a server that checks nothing
    (moto's default) or that refuses everything."""
    client = s3_checked.client()
    client.put_object(Bucket=s3_checked.bucket, Key="probe", Body=b"ok")
    assert client.get_object(Bucket=s3_checked.bucket, Key="probe")["Body"].read() == b"ok"
    client.close()
    for key, secret, code in [("testing", "testing", "InvalidAccessKeyId"),
                              (WRONG_KEY_ID, s3_checked.secret, "InvalidAccessKeyId"),
                              (s3_checked.key, wrong_secret, "SignatureDoesNotMatch")]:
        bad = s3_checked.client(key, secret)
        with pytest.raises(ClientError) as caught:
            bad.put_object(Bucket=s3_checked.bucket, Key="other", Body=b"no")
        bad.close()
        assert caught.value.response["Error"]["Code"] == code
    assert objects(s3_checked) == {"probe"}


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_right_credentials_put_fetch_and_cat(cli, s3_checked, tmp_path: Path, size: int):
    data = data_of(size)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    result = cli("put", str(source), "/a.bin")
    assert result.code == 0, result.err
    attributes = json.loads(cli("get", "/a.bin", "-o", "json").out)["attributes"]
    assert attributes["sha256"] == hashlib.sha256(data).hexdigest()
    assert objects(s3_checked) == {attributes["storage_key"]}
    assert pending_uploads(s3_checked) == []

    fetched = cli("fetch", "/a.bin", str(tmp_path / "copy.bin"))
    assert fetched.code == 0, fetched.err
    assert (tmp_path / "copy.bin").read_bytes() == data
    cat = realnet("cat", "/a.bin")
    assert cat.returncode == 0 and cat.stderr == b"", cat.stderr.decode()
    assert cat.stdout == data


# -- wrong credentials -------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("wrong", ["key", "secret"])
def test_a_put_with_wrong_credentials_is_one_line_and_leaves_nothing(
        cli, s3_checked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrong_secret: str,
        wrong: str, size: int):
    assert cli("create", "/docs", "--type", "Folder").code == 0
    source = tmp_path / "new.bin"
    source.write_bytes(data_of(size))
    before_tree = cli("export", "/").out
    before_objects = objects(s3_checked)

    code = break_credentials(monkeypatch, s3_checked, wrong, wrong_secret)
    done = realnet("put", str(source), "/docs/new.bin")
    refused(done, code, s3_checked.secret, wrong_secret)
    assert done.stdout == b""

    assert names_in(cli, "/docs") == []
    assert cli("get", "/docs/new.bin").code == 1
    assert cli("export", "/").out == before_tree
    assert objects(s3_checked) == before_objects == set()
    assert pending_uploads(s3_checked) == []


READS = {
    "fetch": lambda out: ["fetch", "/docs/a.bin", str(out / "copy.bin")],
    "fetch-stdout": lambda out: ["fetch", "/docs/a.bin", "-"],
    "cat": lambda out: ["cat", "/docs/a.bin"],
}


@pytest.mark.parametrize("command", list(READS))
@pytest.mark.parametrize("wrong", ["key", "secret"])
def test_reading_with_wrong_credentials_is_one_line(
        cli, s3_checked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrong_secret: str,
        wrong: str, command: str):
    data = data_of(3 * MiB)
    source = tmp_path / "a.bin"
    source.write_bytes(data)
    assert cli("put", "-p", str(source), "/docs/a.bin").code == 0
    item = cli("get", "/docs/a.bin", "-o", "json").out
    stored = objects(s3_checked)
    out = tmp_path / "out"
    out.mkdir()

    code = break_credentials(monkeypatch, s3_checked, wrong, wrong_secret)
    done = realnet(*READS[command](out))
    refused(done, code, s3_checked.secret, wrong_secret)
    assert done.stdout == b"", "no bytes before the error"
    assert list(out.iterdir()) == [], "no file, not even a temporary one"

    # nothing was damaged: with the right credentials again, the bytes are all there
    monkeypatch.setenv("REALNET_STORAGE_S3_KEY", s3_checked.key)
    monkeypatch.setenv("REALNET_STORAGE_S3_SECRET", s3_checked.secret)
    assert cli("get", "/docs/a.bin", "-o", "json").out == item
    assert objects(s3_checked) == stored
    again = realnet("cat", "/docs/a.bin")
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout == data


def test_a_refused_session_token_of_the_sdk_chain_names_the_settings(
        cli, s3_checked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """With REALNET_STORAGE_S3_KEY unset, boto3 takes AWS_* credentials; a session token
    the endpoint does not know (an expired one, on AWS) is refused as InvalidToken."""
    monkeypatch.delenv("REALNET_STORAGE_S3_KEY")
    monkeypatch.delenv("REALNET_STORAGE_S3_SECRET")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_checked.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_checked.secret)
    token = f"token-{uuid.uuid4().hex}"
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello\n")

    done = realnet("put", str(source), "/a.txt")
    refused(done, "InvalidToken", s3_checked.secret, token)
    assert cli("get", "/a.txt").code == 1
    assert objects(s3_checked) == set()
