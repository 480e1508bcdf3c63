"""The Realnet WordPress plugin (deploy/wordpress/realnet): it is valid PHP, it is a plugin
WordPress would load, and — run by PHP itself through tests/wordpress/harness.php, which stands in
for the few WordPress functions it uses and does real HTTP — it renders a folder's children and
one item from a real ``realnet server``, escaped, sends the token only as a bearer header, and
fails soft: an unreachable, slow, refusing or garbled Realnet gives a small notice and one log
line, never the token, and a cached answer is still shown while Realnet is away.

Servers listen on 127.0.0.1 on free ports and are stopped by their own PID. Waits are bounded
polls that keep a broken process from hanging the run; none of them is a performance assertion.
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from test_server_process import Server, environment, free_port, server_process

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "deploy" / "wordpress"
PLUGIN = PLUGIN_DIR / "realnet" / "realnet.php"
README = PLUGIN_DIR / "realnet" / "readme.txt"
HARNESS = ROOT / "tests" / "wordpress" / "harness.php"

WAIT_SECONDS = 30.0  # how long a broken process may hang a test, not a performance figure
INSTALL_SECONDS = 900  # apt-get update and install of php-cli, as a hang detector
POLL_SECONDS = 0.05
NOTICE = '<p class="realnet-unavailable">This content is not available right now.</p>'
INSTALL_HINT = ("php is not installed: install Debian's php-cli (apt-get install -y --no-install-recommends "
                "php-cli) to run the WordPress plugin tests")


# -- php itself --------------------------------------------------------------------------------

def _apt_get(apt: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run([apt, "-q", "-o", "DPkg::Lock::Timeout=300", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, timeout=INSTALL_SECONDS, check=False)


@pytest.fixture(scope="session")
def php() -> str:
    """The php command line; installed from Debian's php-cli when missing on a machine where
    this run is root and has apt-get (as CI is). Otherwise the tests fail, saying how to fix it."""
    found = shutil.which("php")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.fail(INSTALL_HINT, pytrace=False)
    # Several xdist workers may get here at once: one installs, the others wait and find it.
    lock_path = Path(tempfile.gettempdir()) / "realnet-tests-php-install.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = shutil.which("php")
            if found is None:
                install = ("install", "-y", "--no-install-recommends", "php-cli")
                try:
                    result = _apt_get(apt, *install)
                    if result.returncode != 0:  # an image without package lists: fetch them, then again
                        _apt_get(apt, "update")
                        result = _apt_get(apt, *install)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"{INSTALL_HINT} (apt-get did not finish within {INSTALL_SECONDS} s)",
                                pytrace=False)
                found = shutil.which("php")
                if found is None:
                    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                    pytest.fail(f"{INSTALL_HINT} (apt-get install php-cli failed: {last})", pytrace=False)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return found


# -- realnet server ------------------------------------------------------------------------------

@pytest.fixture
def realnet_server(tmp_path: Path) -> Iterator[Server]:
    """``realnet server`` over this test's store (REALNET_HOME of conftest) on a free port."""
    with server_process(tmp_path) as server:
        server.wait_ready()
        yield server


# -- the store the pages show ------------------------------------------------------------------

EVIL_TITLE = '<script>alert("x")</script> & <b>co</b>'
BODY = 'First line <img src=x onerror="alert(1)">\nsecond line & more'


@dataclass
class Site:
    token: str
    #: name -> (title or None, type) of the children of /site, as Realnet holds them
    children: dict[str, tuple[str | None, str]] = field(default_factory=dict)


@pytest.fixture
def site(cli) -> Site:
    """/site with a few items (one title holds HTML), an item elsewhere that must not show,
    and an administrator's API token. Nothing here is visible to anonymous callers."""
    steps = [
        ("create", "/site", "--type", "Folder", "--attr", "title=The site"),
        ("create", "/site/alpha", "--type", "Document", "--attr", "title=Alpha plan",
         "--attr", f"body={BODY}"),
        ("create", "/site/beta", "--type", "Document", "--attr", f"title={EVIL_TITLE}"),
        ("create", "/site/gamma", "--type", "Folder"),
        ("create", "/site/delta", "--type", "Link", "--attr", "target=/site/alpha"),
        ("create", "/elsewhere", "--type", "Folder"),
        ("create", "/elsewhere/hidden", "--type", "Document", "--attr", "title=Not on the page"),
    ]
    for step in steps:
        result = cli(*step)
        assert result.code == 0, result.err
    made = cli("token", "create", "admin", "--name", "wordpress", "-o", "json")
    assert made.code == 0, made.err
    token = json.loads(made.out)["token"]
    assert token
    return Site(token, {"alpha": ("Alpha plan", "Document"), "beta": (EVIL_TITLE, "Document"),
                        "delta": (None, "Link"), "gamma": (None, "Folder")})


# -- the PHP harness --------------------------------------------------------------------------

class Harness:
    """tests/wordpress/harness.php with the plugin loaded: one JSON command a line in, one
    answer a line out, so that a test can act (stop a server) between two page views."""

    def __init__(self, php: str, tmp_path: Path, env: dict[str, str], constants: dict[str, object]) -> None:
        number = len(list(tmp_path.glob("harness-*.json")))
        self.log_path = tmp_path / f"php-{number}.log"
        self.log_path.touch()
        self.stderr_path = tmp_path / f"harness-{number}.err"
        config = tmp_path / f"harness-{number}.json"
        config.write_text(json.dumps({"plugin": str(PLUGIN), "log": str(self.log_path),
                                      "constants": constants}))
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen([php, str(HARNESS), str(config)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, env=env, cwd=tmp_path,
                                         text=True, encoding="utf-8")

    def call(self, command: dict[str, object]) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(WAIT_SECONDS):
                pytest.fail(f"the PHP harness did not answer {command} within {WAIT_SECONDS} s:\n"
                            f"{self.stderr()}")
        line = self.proc.stdout.readline()
        if not line:
            pytest.fail(f"the PHP harness exited {self.proc.wait(WAIT_SECONDS)}:\n{self.stderr()}")
        return json.loads(line)

    def render(self, content: str) -> dict:
        """``content`` through do_shortcode: {"html", "requests", "warnings"}; PHP raised no
        warning or notice on the way."""
        answer = self.call({"op": "render", "content": content})
        assert answer["warnings"] == [], answer["warnings"]
        return answer

    def advance(self, seconds: int) -> None:
        assert self.call({"op": "advance", "seconds": seconds}) == {"ok": True}

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            with suppress(BrokenPipeError, OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=WAIT_SECONDS)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with suppress(OSError):
                    stream.close()


@pytest.fixture
def wordpress(php: str, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """Starts harnesses: ``wordpress(REALNET_URL=..., REALNET_TOKEN=..., constants={...})``;
    each is stopped at the end, and none may have written anything to stderr."""
    started: list[Harness] = []

    def start(constants: dict[str, object] | None = None, **env: str) -> Harness:
        harness = Harness(php, tmp_path, environment(**env), constants or {})
        started.append(harness)
        return harness

    yield start
    for harness in started:
        harness.close()
    for harness in started:
        assert harness.stderr() == "", harness.stderr()


class ListParser(HTMLParser):
    """The entries of the plugin's list: (name, title or None, type, href or None)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[dict[str, str | None]] = []
        self.current: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "li" and "realnet-item" in classes:
            self.entries.append({"name": None, "title": None, "type": None, "href": None})
        elif tag == "a" and self.entries:
            self.entries[-1]["href"] = dict(attrs).get("href")
        elif tag == "span" and self.entries:
            for part in ("name", "title", "type"):
                if f"realnet-{part}" in classes:
                    self.current, self.text = part, ""

    def handle_data(self, data: str) -> None:
        if self.current:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.current:
            self.entries[-1][self.current] = self.text
            self.current = None


def entries(page: str) -> list[dict[str, str | None]]:
    parser = ListParser()
    parser.feed(page)
    parser.close()
    return parser.entries


def assert_secret_absent(token: str, harness: Harness, *answers: dict) -> None:
    for answer in answers:
        assert token not in json.dumps(answer)
        assert html.escape(token) not in answer.get("html", "")
    assert token not in "\n".join(harness.log_lines())
    assert token not in harness.stderr()


# -- tests --------------------------------------------------------------------------------------

def test_every_php_file_of_the_plugin_passes_php_lint(php: str) -> None:
    files = sorted(PLUGIN_DIR.rglob("*.php"))
    assert PLUGIN in files
    for path in files:
        result = subprocess.run([php, "-l", str(path)], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=WAIT_SECONDS, check=False)
        assert result.returncode == 0, f"{path}: {result.stdout}{result.stderr}"
        assert "No syntax errors detected" in result.stdout


def test_it_is_a_wordpress_plugin_that_does_nothing_outside_wordpress(php: str, tmp_path: Path) -> None:
    source = PLUGIN.read_text(encoding="utf-8")
    header = source[:2000]
    for field_name in ("Plugin Name:", "Description:", "Version:", "Requires PHP:", "License:"):
        assert f" * {field_name}" in header, field_name
    assert "defined( 'ABSPATH' ) || exit;" in source
    # Loaded directly (as a web server asked for the file would), it stops before doing anything.
    probe = tmp_path / "direct.php"
    probe.write_text(f"<?php include {json.dumps(str(PLUGIN))}; echo 'went on';\n")
    result = subprocess.run([php, str(probe)], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=WAIT_SECONDS, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    readme = README.read_text(encoding="utf-8")
    assert readme.startswith("=== Realnet ===")
    for field_name in ("Requires PHP:", "Stable tag:", "License:", "== Description ==", "== Installation =="):
        assert field_name in readme, field_name


def test_a_folder_renders_exactly_its_children_escaped_with_the_token_as_bearer_only(
        wordpress, realnet_server: Server, site: Site) -> None:
    harness = wordpress(REALNET_URL=realnet_server.url, REALNET_TOKEN=site.token)
    answer = harness.render('<p>Before</p>[realnet path="/site"]<p>After</p>')

    page = answer["html"]
    assert page.startswith("<p>Before</p>") and page.endswith("<p>After</p>")
    shown = {e["name"]: (e["title"], e["type"]) for e in entries(page)}
    assert shown == site.children
    assert [e["name"] for e in entries(page)] == sorted(site.children)
    assert all(e["href"] is None for e in entries(page))  # no link="..." given: names are not linked
    # The title's HTML arrives as text: escaped, never as markup.
    assert "<script>" not in page and "<b>co</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in page
    # One request: the children, with a short timeout, no redirects, the token as a bearer header.
    (request,) = answer["requests"]
    assert request["url"] == f"{realnet_server.url}/api/v1/items/site?children&limit=50&order=name"
    assert request["outcome"] == 200
    assert request["bearer"] is True
    assert 0 < request["timeout"] <= 5
    assert request["redirection"] == 0
    assert harness.log_lines() == []
    assert_secret_absent(site.token, harness, answer)


def test_limit_link_and_options_shape_the_request(wordpress, realnet_server: Server, site: Site) -> None:
    harness = wordpress(REALNET_URL=realnet_server.url + "/", REALNET_TOKEN=site.token)

    two = harness.render('[realnet path="site" limit="2"]')
    assert [e["name"] for e in entries(two["html"])] == ["alpha", "beta"]
    assert two["requests"][0]["url"].endswith("/api/v1/items/site?children&limit=2&order=name")

    huge = harness.render('[realnet path="/site/" limit="100000" order="-name"]')
    assert [e["name"] for e in entries(huge["html"])] == sorted(site.children, reverse=True)
    assert huge["requests"][0]["url"].endswith("?children&limit=500&order=-name")

    odd = harness.render("[realnet path='/site' limit='lots' order='<bad>' link='https://example.org/docs/']")
    assert odd["requests"][0]["url"].endswith("?children&limit=50&order=name")
    links = {e["name"]: e["href"] for e in entries(odd["html"])}
    assert links == {name: f"https://example.org/docs/{name}" for name in site.children}
    assert harness.log_lines() == []
    assert_secret_absent(site.token, harness, two, huge, odd)


def test_one_item_shows_its_title_and_body_escaped(wordpress, realnet_server: Server, site: Site) -> None:
    harness = wordpress(REALNET_URL=realnet_server.url, REALNET_TOKEN=site.token)

    alpha = harness.render('[realnet path="/site/alpha" show="item"]')
    assert alpha["requests"][0]["url"] == f"{realnet_server.url}/api/v1/items/site/alpha"
    page = alpha["html"]
    assert '<h3 class="realnet-title">Alpha plan</h3>' in page
    assert "<img" not in page
    assert ('<div class="realnet-body">First line &lt;img src=x onerror=&quot;alert(1)&quot;&gt;<br />\n'
            "second line &amp; more</div>") in page

    beta = harness.render('[realnet path="/site/beta" show="item"]')
    assert "<script>" not in beta["html"]
    assert ('<h3 class="realnet-title">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; '
            "&lt;b&gt;co&lt;/b&gt;</h3>") in beta["html"]

    folder = harness.render('[realnet path="/site" show="item"]')
    assert '<h3 class="realnet-title">The site</h3>' in folder["html"]
    assert harness.log_lines() == []
    assert_secret_absent(site.token, harness, alpha, beta, folder)


def test_a_wrong_or_missing_token_gives_the_notice_and_logs_the_status(
        wordpress, realnet_server: Server, site: Site) -> None:
    wrong = "rn_" + "w" * 43
    refused = wordpress(REALNET_URL=realnet_server.url, REALNET_TOKEN=wrong)
    answer = refused.render('<h1>Page</h1>[realnet path="/site"]')
    assert answer["html"] == "<h1>Page</h1>" + NOTICE
    assert answer["requests"][0]["outcome"] == 401
    (line,) = refused.log_lines()
    assert "realnet: GET " in line and "/api/v1/items/site?children" in line and "HTTP 401" in line
    assert_secret_absent(wrong, refused, answer)
    assert_secret_absent(site.token, refused, answer)

    # Without a token the caller is anonymous, for whom /site does not exist.
    anonymous = wordpress(REALNET_URL=realnet_server.url)
    answer = anonymous.render('[realnet path="/site"]')
    assert answer["html"] == NOTICE
    assert answer["requests"][0]["bearer"] is False
    (line,) = anonymous.log_lines()
    assert "HTTP 404" in line


def test_the_token_can_come_from_a_file_and_constants_win_over_the_environment(
        wordpress, realnet_server: Server, site: Site, tmp_path: Path) -> None:
    token_file = tmp_path / "secret" / "token"
    token_file.parent.mkdir()
    token_file.write_text(site.token + "\n")  # as a Secret mounted from a file, with its newline
    from_file = wordpress(REALNET_URL=realnet_server.url, REALNET_TOKEN_FILE=str(token_file))
    answer = from_file.render('[realnet path="/site"]')
    assert {e["name"] for e in entries(answer["html"])} == set(site.children)
    assert_secret_absent(site.token, from_file, answer)

    closed = f"http://127.0.0.1:{free_port()}"
    constants = wordpress({"REALNET_URL": realnet_server.url, "REALNET_TOKEN": site.token},
                          REALNET_URL=closed, REALNET_TOKEN="rn_not_this_one")
    answer = constants.render('[realnet path="/site"]')
    assert {e["name"] for e in entries(answer["html"])} == set(site.children)
    assert answer["requests"][0]["url"].startswith(realnet_server.url + "/")
    assert_secret_absent(site.token, constants, answer)

    wrong_constant = wordpress({"REALNET_TOKEN": "rn_wrong_constant"},
                               REALNET_URL=realnet_server.url, REALNET_TOKEN=site.token)
    answer = wrong_constant.render('[realnet path="/site"]')
    assert answer["html"] == NOTICE
    assert "HTTP 401" in wrong_constant.log_lines()[0]
    assert_secret_absent(site.token, wrong_constant, answer)
    assert_secret_absent("rn_wrong_constant", wrong_constant, answer)

    unreadable = wordpress(REALNET_URL=realnet_server.url, REALNET_TOKEN_FILE=str(tmp_path / "missing"))
    answer = unreadable.render('[realnet path="/site"]')
    assert answer["html"] == NOTICE and answer["requests"] == []
    (line,) = unreadable.log_lines()
    assert "REALNET_TOKEN_FILE" in line and "cannot be read" in line


def test_a_cached_answer_is_shown_while_realnet_is_stopped_until_it_expires(
        wordpress, realnet_server: Server, site: Site) -> None:
    harness = wordpress(REALNET_URL=realnet_server.url, REALNET_TOKEN=site.token)
    first = harness.render('[realnet path="/site"]')
    assert len(first["requests"]) == 1
    assert {e["name"] for e in entries(first["html"])} == set(site.children)

    other = harness.render('[realnet path="/site" limit="2"]')  # other options: another cache entry
    assert len(other["requests"]) == 1

    os.kill(realnet_server.proc.pid, signal.SIGTERM)  # by its PID; it drains and exits
    assert realnet_server.wait_exit() == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{realnet_server.url}/healthz", timeout=5)

    cached = harness.render('[realnet path="/site"]')
    assert cached["html"] == first["html"]
    assert cached["requests"] == []  # from the transient: nothing was asked

    harness.advance(61)  # past the cache time: Realnet is asked, and is not there
    expired = harness.render('[realnet path="/site"]')
    assert expired["html"] == NOTICE
    assert [r["outcome"] for r in expired["requests"]] == ["error"]
    (line,) = harness.log_lines()
    assert "/api/v1/items/site?children&limit=50" in line and "request failed" in line

    # The failure is remembered for a moment: the next view does not wait for Realnet again.
    again = harness.render('[realnet path="/site"]')
    assert again["html"] == NOTICE and again["requests"] == []
    assert len(harness.log_lines()) == 1

    harness.advance(16)
    retried = harness.render('[realnet path="/site"]')
    assert retried["html"] == NOTICE and len(retried["requests"]) == 1
    assert len(harness.log_lines()) == 2
    assert_secret_absent(site.token, harness, first, other, cached, expired, again, retried)


# -- Realnet misbehaving: closed, slow, erroring, garbled ---------------------------------------

@dataclass
class FakeAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeRealnet:
    """An HTTP server on 127.0.0.1 that answers every GET with one fixed answer and records
    the Authorization header of each request."""

    def __init__(self, answer: FakeAnswer) -> None:
        self.seen: list[tuple[str, str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.seen.append((self.path, self.headers.get("Authorization")))
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT_SECONDS)


@contextmanager
def fake_realnet(answer: FakeAnswer) -> Iterator[FakeRealnet]:
    fake = FakeRealnet(answer)
    try:
        yield fake
    finally:
        fake.close()


TOKEN = "rn_" + "t" * 43
ITEMS = json.dumps({"items": [{"name": "x", "type": "Document", "attributes": {"title": "X"}}],
                    "next_cursor": None}).encode()


@pytest.mark.parametrize(("answer", "logged"), [
    (FakeAnswer(500, b'{"error": {"code": "internal", "message": "a bug"}}'), "HTTP 500 (internal: a bug)"),
    (FakeAnswer(503, b'{"error": {"code": "store", "message": "the store cannot be reached"}}'), "HTTP 503"),
    (FakeAnswer(403, b'{"error": {"code": "forbidden", "message": "/site: not yours"}}'), "HTTP 403"),
    (FakeAnswer(200, b'{"items": [{"name": "x", "type": "Document"'), "not a JSON object"),
    (FakeAnswer(200, b"<html>a proxy's error page</html>"), "not a JSON object"),
    (FakeAnswer(200, b'{"items": "nothing"}'), "not a page of items"),
    (FakeAnswer(200, b'{"items": [{"name": 7, "type": "Document"}]}'), "not an item"),
    (FakeAnswer(302, b"", {"Location": "http://127.0.0.1:9/elsewhere"}), "HTTP 302"),
], ids=["500", "503", "403", "truncated-json", "html", "wrong-shape", "bad-item", "redirect"])
def test_an_erroring_or_garbled_realnet_gives_the_notice(wordpress, answer: FakeAnswer, logged: str) -> None:
    with fake_realnet(answer) as fake:
        harness = wordpress(REALNET_URL=fake.url, REALNET_TOKEN=TOKEN)
        result = harness.render('<p>Page</p>[realnet path="/site"]')
        assert fake.seen == [("/api/v1/items/site?children&limit=50&order=name", f"Bearer {TOKEN}")]
    assert result["html"] == "<p>Page</p>" + NOTICE
    (line,) = harness.log_lines()
    assert "realnet: GET " in line and logged in line
    assert_secret_absent(TOKEN, harness, result)


def test_a_good_answer_from_the_same_fake_renders(wordpress) -> None:
    """The counterpart of the test above: the fake itself is not what makes those fail."""
    with fake_realnet(FakeAnswer(200, ITEMS)) as fake:
        harness = wordpress(REALNET_URL=fake.url, REALNET_TOKEN=TOKEN)
        result = harness.render('[realnet path="/site"]')
    assert entries(result["html"]) == [{"name": "x", "title": "X", "type": "Document", "href": None}]
    assert harness.log_lines() == []


def test_a_closed_port_gives_the_notice(wordpress) -> None:
    port = free_port()  # bound once, then closed: nothing listens there
    harness = wordpress(REALNET_URL=f"http://127.0.0.1:{port}", REALNET_TOKEN=TOKEN)
    result = harness.render('[realnet path="/site"]')
    assert result["html"] == NOTICE
    assert [r["outcome"] for r in result["requests"]] == ["error"]
    (line,) = harness.log_lines()
    assert f"127.0.0.1:{port}" in line and "request failed" in line
    assert_secret_absent(TOKEN, harness, result)


def test_a_realnet_that_never_answers_gives_the_notice_after_the_timeout(wordpress) -> None:
    # The kernel completes the connection into the backlog; nobody ever reads the request.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        harness = wordpress(REALNET_URL=f"http://127.0.0.1:{port}", REALNET_TOKEN=TOKEN)
        result = harness.render('[realnet path="/site"]')  # answers at all only thanks to the timeout
    assert result["html"] == NOTICE
    (request,) = result["requests"]
    assert request["outcome"] == "error" and 0 < request["timeout"] <= 5
    (line,) = harness.log_lines()
    assert "request failed" in line
    assert_secret_absent(TOKEN, harness, result)


@pytest.mark.parametrize(("shortcode", "env", "logged"), [
    ('[realnet path="/site/../etc"]', {"REALNET_URL": "http://127.0.0.1:9"}, '"." and ".." are not allowed'),
    ('[realnet path="/site"]', {}, "REALNET_URL is not set"),
    ('[realnet path="/site"]', {"REALNET_URL": "file:///etc/passwd"}, "REALNET_URL: expected http(s)://"),
], ids=["dot-dot", "no-url", "not-http"])
def test_a_bad_path_or_setting_gives_the_notice_without_a_request(
        wordpress, shortcode: str, env: dict[str, str], logged: str) -> None:
    harness = wordpress(REALNET_TOKEN=TOKEN, **env)
    result = harness.render(shortcode)
    assert result["html"] == NOTICE
    assert result["requests"] == []
    (line,) = harness.log_lines()
    assert logged in line
    assert_secret_absent(TOKEN, harness, result)
