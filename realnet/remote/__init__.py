"""Working against a remote Realnet over its HTTP API (``--url`` and ``--token``)."""
