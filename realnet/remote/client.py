"""A small client of the REST API that turns its JSON errors back into RealnetErrors,
so that remote commands fail with the same one-line messages as local ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from realnet.core import errors, paths
from realnet.core.errors import RealnetError, StoreError

API = "/api/v1"

#: The API's error codes → the error classes every face already knows.
ERRORS: dict[str, type[RealnetError]] = {
    "usage": errors.UsageError,
    "not_found": errors.NotFound,
    "unknown_type": errors.UnknownType,
    "exists": errors.AlreadyExists,
    "invalid_name": errors.InvalidName,
    "invalid_path": errors.InvalidPath,
    "invalid": errors.ValidationError,
    "conflict": errors.Conflict,
    "precondition_failed": errors.Conflict,
    "not_empty": errors.NotEmpty,
    "forbidden": errors.PermissionDenied,
    "unauthorized": errors.PermissionDenied,
    "store": errors.StoreError,
}


def rebuild(code: str, message: str) -> RealnetError:
    cls = ERRORS.get(code, RealnetError)
    error = cls.__new__(cls)
    RealnetError.__init__(error, message)
    return error


def item_url(path: str, prefix: str = "items") -> str:
    return f"{API}/{prefix}{paths.url_quoted(path)}"


class ApiClient:
    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        self.label = parts.netloc
        headers = {"Accept": "application/json", "User-Agent": "realnet"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self._httpx = httpx

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                body: Any = None, headers: dict[str, str] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, url, params=clean, json=body, headers=headers)
        except self._httpx.TransportError as e:
            raise StoreError(f"{self.url}: cannot reach the Realnet API ({_reason(e)})") from None
        if response.status_code >= 400:
            raise self._error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise StoreError(f"{self.url}{url}: the server answered with something other than JSON") from None

    def upload(self, url: str, chunks: Iterable[bytes], *, params: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> Any:
        """PUT a body streamed from ``chunks`` (constant memory, any size)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.put(url, content=iter(chunks), params=clean, headers=headers,
                                      timeout=self._httpx.Timeout(30.0, read=None, write=None))
        except self._httpx.TransportError as e:
            raise StoreError(f"{self.url}: upload failed ({_reason(e)})") from None
        if response.status_code >= 400:
            raise self._error(response)
        return response.json()

    def download(self, url: str, *, headers: dict[str, str] | None = None) -> Iterator[bytes]:
        """The body of a GET, chunk by chunk."""
        try:
            with self._http.stream("GET", url, headers=headers,
                                   timeout=self._httpx.Timeout(30.0, read=None)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response)
                yield from response.iter_bytes(1024 * 1024)
        except self._httpx.TransportError as e:
            raise StoreError(f"{self.url}: download failed ({_reason(e)})") from None

    def _error(self, response: Any) -> RealnetError:
        try:
            detail = response.json()["error"]
            return rebuild(detail["code"], detail["message"])
        except (ValueError, KeyError, TypeError):
            return StoreError(f"{self.url}: HTTP {response.status_code} from the server "
                              f"(is {self.url} a Realnet API?)")

    def close(self) -> None:
        self._http.close()


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0][:200]
