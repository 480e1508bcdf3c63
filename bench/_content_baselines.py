"""The baseline processes of ``content_bench.py``: each does one transfer and nothing else.

A baseline is timed as a whole process, like ``realnet put``, so it must not pay for
anything a plain copy program would not: this file imports only what its mode needs
(``os`` and ``sys`` here, then ``shutil``, ``hashlib`` + ``mmap`` or boto3), none of the
measuring script's own modules (``argparse``, ``statistics``, ``importlib.metadata`` …,
about 65 ms on the benchmark machine).

    python bench/_content_baselines.py idle
    python bench/_content_baselines.py copy SRC DST          # shutil.copyfile
    python bench/_content_baselines.py copy-fsync SRC DST    # the same, then os.fsync
    python bench/_content_baselines.py sha256 FILE           # hashlib over a memory map, writes nothing
    python bench/_content_baselines.py upload FILE KEY       # boto3 upload_file
    python bench/_content_baselines.py download KEY FILE     # boto3 download_file
    python bench/_content_baselines.py get KEY FILE          # one streamed get_object

The S3 modes read the bucket, endpoint and credentials from the same ``REALNET_*``
settings Realnet reads.
"""

import os
import sys


def _s3_client():
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=os.environ["REALNET_AWS_ENDPOINT_URL"],
        region_name=os.environ.get("REALNET_STORAGE_S3_REGION", "us-east-1"),
        aws_access_key_id=os.environ["REALNET_STORAGE_S3_KEY"],
        aws_secret_access_key=os.environ["REALNET_STORAGE_S3_SECRET"])


def _copy(source: str, target: str, fsync: bool) -> None:
    import shutil

    shutil.copyfile(source, target)
    if fsync:
        with open(target, "rb+") as out:
            os.fsync(out.fileno())


def _sha256(path: str) -> None:
    """The fastest hashlib hash of a file: a window of 8 MiB mapped at a time, as Realnet reads."""
    import hashlib
    import mmap

    digest, window = hashlib.sha256(), 8 << 20
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        for offset in range(0, size, window):
            with mmap.mmap(handle.fileno(), min(window, size - offset), access=mmap.ACCESS_READ,
                           offset=offset) as mapped:
                digest.update(mapped)
    digest.hexdigest()


def _get(key: str, target: str) -> None:
    body = _s3_client().get_object(Bucket=os.environ["REALNET_STORAGE_S3_BUCKET"], Key=key)["Body"]
    with open(target, "wb") as out:
        for chunk in body.iter_chunks(1 << 20):
            out.write(chunk)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    mode, args = argv[0], argv[1:]
    bucket = os.environ.get("REALNET_STORAGE_S3_BUCKET", "")
    if mode == "idle":
        pass
    elif mode in ("copy", "copy-fsync"):
        _copy(args[0], args[1], fsync=mode == "copy-fsync")
    elif mode == "sha256":
        _sha256(args[0])
    elif mode == "upload":
        _s3_client().upload_file(args[0], bucket, args[1])
    elif mode == "download":
        _s3_client().download_file(bucket, args[0], args[1])
    elif mode == "get":
        _get(args[0], args[1])
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
