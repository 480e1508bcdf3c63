"""One cluster's API, through the official client: kubeconfig contexts or the pod's own
service account, JSON in and out, and the API's refusals as Realnet's errors.

Requests go through the client's REST layer with its ``Configuration`` (authentication,
TLS, proxies, retries) but skip its typed ``ApiClient`` and models: a list of 50,000 pods
is parsed once, as plain JSON, and a CLI run does not import pydantic for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from realnet.core.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    PermissionDenied,
    RealnetError,
    StoreError,
    ValidationError,
)

#: Seconds to connect and to wait for an answer: a cluster that is down is said so, not waited on.
CONNECT_SECONDS = 5.0
READ_SECONDS = 30.0
USER_AGENT = "realnet (kubernetes-client/python)"


def load_client_package() -> None:
    """Make ``kubernetes`` importable without running its package ``__init__``.

    That ``__init__`` eagerly imports every subpackage: ``dynamic`` (and through it
    kubernetes-validate and jsonschema, when installed), ``stream``, ``watch``, ``informer``,
    ``leaderelection`` — about 0.1 s that ``realnet ls`` of a pods folder would spend before
    its first request, on modules Realnet never uses. The package is registered with only
    its search path instead, so ``kubernetes.client`` and ``kubernetes.config`` (and any
    other subpackage, on first use) import exactly as usual. A package already imported
    the ordinary way is left as it is.
    """
    import importlib.util
    import sys

    if "kubernetes" in sys.modules:
        return
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError("kubernetes")
    package = importlib.util.module_from_spec(spec)
    sys.modules["kubernetes"] = package
    from kubernetes import client  # light: its APIs and models load on first use

    package.__project__, package.__version__ = "kubernetes", client.__version__  # as __init__ sets them


def connect(*, context: str | None, kubeconfig: str | None, in_cluster: bool, where: str) -> RestApi:
    """The API of the context (or of the in-cluster service account)."""
    try:
        load_client_package()
        from kubernetes import client
    except ImportError:
        raise ValidationError(f"{where}: mounting a cluster needs the Kubernetes client: "
                              "pip install 'realnet[kubernetes]'") from None

    from realnet.providers.kubernetes import kubeconfig as reader

    configuration = client.Configuration()
    if in_cluster:
        try:
            reader.load_in_cluster(configuration)
        except reader.ServiceAccountError as e:
            raise ValidationError(f"{where}: the pod's service account: {e}") from None
        return RestApi(configuration)
    if reader.load_simple(kubeconfig, context or None, configuration):
        return RestApi(configuration)
    # The official loader, for every kubeconfig the simple reader leaves to it.
    import yaml
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    named = f"kubeconfig {kubeconfig or '~/.kube/config'}"
    if kubeconfig and not os.path.exists(os.path.expanduser(kubeconfig)):
        raise ValidationError(f"{where}: {named}: no such file")
    try:
        config.load_kube_config(config_file=kubeconfig, context=context or None,
                                client_configuration=configuration, persist_config=False)
    except ConfigException as e:
        raise ValidationError(f"{where}: context {context or '(current)'}: {_first_line(e)}") from None
    except OSError as e:
        raise ValidationError(f"{where}: {named}: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ValidationError(f"{where}: {named}: not valid YAML{at}") from None
    return RestApi(configuration)


class RestApi:
    """One cluster's endpoint through the official client's ``RESTClientObject`` (urllib3
    with the configuration's TLS, proxy and retry settings) and the configuration's
    bearer credentials, refreshed by its hook as the typed ``ApiClient`` would."""

    def __init__(self, configuration: Any) -> None:
        from kubernetes.client.rest import RESTClientObject

        self.configuration = configuration
        self.rest = RESTClientObject(configuration)

    def call(self, method: str, path: str, *, query: Sequence[tuple[str, Any]], headers: dict[str, str],
             body: Any, timeout: tuple[float, float | None]) -> Any:
        """The client's ``RESTResponse`` (not read yet) for ``method path?query``."""
        from urllib.parse import quote, urlencode

        sent = {"User-Agent": USER_AGENT, **headers}
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                sent[setting["key"]] = setting["value"]
        url = self.configuration.host + path
        if query:
            url += "?" + urlencode([(k, str(v).lower() if isinstance(v, bool) else v) for k, v in query],
                                   quote_via=quote)
        return self.rest.request(method, url, headers=sent, body=body, _request_timeout=timeout)

    def close(self) -> None:
        self.rest.pool_manager.clear()


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class Cluster:
    """Requests to one API server, answered as plain data or one clear error."""

    def __init__(self, api: RestApi, label: str, *, read_seconds: float = READ_SECONDS) -> None:
        self.api = api
        self.label = label
        self.read_seconds = read_seconds

    def request(self, method: str, path: str, *, where: str, query: dict[str, Any] | None = None,
                body: Any = None, content_type: str = "application/json", text: bool = False,
                read_seconds: float | None = None) -> Any:
        """``method path`` on the API; ``where`` is the tree path errors name."""
        import orjson

        headers = {"Accept": "text/plain" if text else "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        response = self._send(method, path, where, query, headers, body, read_seconds or self.read_seconds,
                              whole=True)
        data = response.data
        if text:
            return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
        return orjson.loads(data) if data else None

    def stream(self, path: str, *, where: str, query: dict[str, Any] | None = None) -> Iterator[str]:
        """The lines of a text answer as they come (a followed log, a watch)."""
        response = self._send("GET", path, where, query, {"Accept": "text/plain"}, None, None, whole=False)
        return _lines(response.response, where, self.label)

    def _send(self, method: str, path: str, where: str, query: dict[str, Any] | None,
              headers: dict[str, str], body: Any, read_seconds: float | None, *, whole: bool) -> Any:
        """The answer to one request (read whole, or left to stream); a refusal as an error."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            response = self.api.call(method, path, query=params, headers=headers, body=body,
                                     timeout=(CONNECT_SECONDS, read_seconds))
            if whole:
                response.read()
        except ApiException as e:
            raise self.error(e.status, e.body, where) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise self._unreachable(e, where, read_seconds) from None
        if response.status >= 400:
            if not whole:
                response.read()
            raise self.error(response.status, response.data, where)
        return response

    def _unreachable(self, error: Exception, where: str, read_seconds: float | None) -> RealnetError:
        """A request that got no answer, said in words rather than urllib3's."""
        import ssl

        import urllib3

        reason = getattr(error, "reason", None) or error
        if isinstance(reason, urllib3.exceptions.ReadTimeoutError) and read_seconds:
            return StoreError(f"{where}: the cluster {self.label} did not answer within {read_seconds:g} s "
                              "(the mount's timeout)")
        if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
            why = f"no connection within {CONNECT_SECONDS:g} s"
        elif isinstance(reason, urllib3.exceptions.NewConnectionError):
            why = "connection refused" if "refused" in str(reason).lower() else "no connection"
        elif isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError):
            why = "its TLS certificate is not trusted"
        else:
            why = _first_line(reason if isinstance(reason, Exception) else error)
        return StoreError(f"{where}: the cluster {self.label} cannot be reached ({why})")

    def error(self, status: int, body: Any, where: str) -> RealnetError:
        """The API's ``Status`` as the error every face knows."""
        import orjson

        message, reason = f"HTTP {status}", ""
        try:
            parsed = orjson.loads(body) if body else {}
            if isinstance(parsed, dict):
                message = str(parsed.get("message") or message).splitlines()[0]
                reason = str(parsed.get("reason") or "")
        except orjson.JSONDecodeError:
            pass
        if status == 401:
            return StoreError(f"{where}: the cluster {self.label} refused the credentials "
                              f"(expired or wrong: {message})")
        if status == 403:
            return PermissionDenied(f"{where}: forbidden by the cluster: {message}")
        if status == 404:
            return NotFound(where)
        if status == 409 and reason == "AlreadyExists":
            return AlreadyExists(where)
        if status == 409:
            return Conflict(f"{where}: {message}; read it again and retry")
        if status in (400, 422):
            return ValidationError(f"{where}: refused by the cluster: {message}")
        return StoreError(f"{where}: the cluster {self.label} answered {status}: {message}")


def _lines(raw: Any, where: str, label: str) -> Iterator[str]:
    import urllib3

    pending = b""
    try:
        for chunk in raw.stream(4096, decode_content=True):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.decode("utf-8", errors="replace")
        if pending:
            yield pending.decode("utf-8", errors="replace")
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise StoreError(f"{where}: the log stream from {label} broke off ({_first_line(e)})") from None
    finally:
        raw.release_conn()
