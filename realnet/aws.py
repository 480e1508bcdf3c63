"""boto3 clients that share what botocore reads from disk.

A new ``boto3.session.Session`` reads and parses botocore's service models (several
megabytes of JSON for S3) for every client. A process that opens several stores (the
runners, the shell's commands) would pay that each time. Only the data loader is shared:
each client still gets a session of its own, so credentials are resolved afresh from the
environment and the profile every time.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loader: Any = None


def new_client(service: str, **options: Any) -> Any:
    """``boto3.session.Session().client(service, **options)``, with the models read once."""
    global _loader
    import boto3
    import botocore.session

    with _lock:  # creating clients is not thread-safe in botocore; using them is
        core = botocore.session.get_session()
        if _loader is None:
            _loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _loader)
        return boto3.session.Session(botocore_session=core).client(service, **options)
