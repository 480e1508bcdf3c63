"""The Dockerfile's install steps, without a container engine.

The builder stage's COPY lines are replayed into a temporary folder and the wheel is built
from that copy (as ``pip wheel --no-deps`` does in the builder), so a folder the Dockerfile
forgets to copy fails here. The wheel is installed into a fresh virtual environment that
reuses the dependencies already installed (``--system-site-packages``, ``--no-index``: no
download), then that environment's ``realnet`` runs ``--help``, ``init`` and ``server``,
and the Dockerfile's own HEALTHCHECK command asks the server.

Building the wheel fetches the build backend from the package registry, as the builder stage
does. The wheel and the environment are built once for the module and removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from test_server_process import WAIT_SECONDS, Server, free_port

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = "postgresql,s3,sqs,kubernetes"  # what the Dockerfile's final stage installs
BUILD_SECONDS = 600  # a guard against a hung pip, not a performance assertion


@dataclass
class Installed:
    wheel: Path
    venv: Path

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def realnet(self) -> str:
        return str(self.venv / "bin" / "realnet")


def clean_environment(home: Path | None = None, **extra: str) -> dict[str, str]:
    """HOME as REALNET_HOME (this test's, by default), nothing else of Realnet's and nothing
    that could point Python at the source tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REALNET_") and k not in ("PYTHONPATH", "PYTHONHOME", "KUBERNETES_SERVICE_HOST")}
    env["REALNET_HOME"] = str(home or os.environ["REALNET_HOME"])
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(extra)
    return env


def run(args: list[str], cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL,
                          env=clean_environment(home), timeout=BUILD_SECONDS)
    assert done.returncode == 0, f"{shlex.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def builder_copies() -> list[tuple[list[str], str]]:
    """The builder stage's ``COPY SOURCE... DEST`` lines (before the second FROM)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    builder = re.split(r"^FROM\s", text, flags=re.MULTILINE)[1]
    copies = []
    for line in builder.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *sources, dest = line.split()[1:]
            copies.append((sources, dest))
    assert copies, "the builder stage copies nothing"
    return copies


def replay_copies(into: Path) -> None:
    for sources, dest in builder_copies():
        for source in sources:
            origin = ROOT / source
            target = into / dest / source if dest.endswith("/") else into / dest
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)


def healthcheck_command() -> list[str]:
    """The final stage's ``HEALTHCHECK ... CMD [...]``, as Docker would run it."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$", text, flags=re.MULTILINE)
    assert match, "the Dockerfile has no exec-form HEALTHCHECK"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel-install")
    try:
        source, wheels, venv, home = base / "src", base / "wheels", base / "venv", base / "home"
        replay_copies(source)
        run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(wheels)],
            cwd=base, home=home)
        built = sorted(wheels.glob("realnet-*.whl"))
        assert len(built) == 1, built
        run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=base, home=home)
        install = Installed(built[0], venv)
        # The wheel itself, over the editable install the system site-packages holds ...
        run([install.python, "-m", "pip", "install", "--no-index", "--no-deps", "--force-reinstall",
             str(install.wheel)], cwd=base, home=home)
        # ... then the Dockerfile's requirement, extras included: every dependency it names is
        # already there, so this resolves without an index.
        run([install.python, "-m", "pip", "install", "--no-index", f"{install.wheel}[{EXTRAS}]"],
            cwd=base, home=home)
        yield install
    finally:
        shutil.rmtree(base, ignore_errors=True)


def setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def package_folders() -> dict[str, Path]:
    """Each package pyproject.toml installs, and the source folder it comes from."""
    config = setuptools_config()
    mapping: dict[str, str] = config["package-dir"]
    folders = {}
    for package in config["packages"]:
        owner = max((p for p in mapping if package == p or package.startswith(p + ".")), key=len)
        rest = package[len(owner):].lstrip(".").replace(".", "/")
        folders[package] = ROOT / mapping[owner] / rest
    return folders


# -- tests -----------------------------------------------------------------------------------

def test_the_wheel_carries_every_module_and_data_file(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    expected = set()
    for package, folder in package_folders().items():
        for path in folder.iterdir():
            if path.is_file() and path.suffix != ".pyc":
                expected.add(f"{package.replace('.', '/')}/{path.name}")
    # Package data, wherever below its package it lies.
    folders = package_folders()
    for package, patterns in setuptools_config().get("package-data", {}).items():
        for pattern in patterns:
            found = [p for p in folders[package].glob(pattern) if p.is_file()]
            assert found, f"package data {package}: {pattern} matches nothing in the sources"
            expected |= {f"{package.replace('.', '/')}/{p.relative_to(folders[package]).as_posix()}"
                         for p in found}
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    # What the app reads at run time besides its modules: the type definitions and the SQS
    # message schema (and the TUI's stylesheets, should it ever have any).
    data = {name for name in expected if not name.endswith(".py")}
    initialization = {f"realnet/initialization/{p.name}" for p in (ROOT / "initialization").glob("*.json")}
    assert initialization and initialization <= data
    stylesheets = {f"realnet/tui/{p.relative_to(ROOT / 'tui')}" for p in (ROOT / "tui").rglob("*.tcss")}
    assert stylesheets <= names
    # The sources' own folder names exist only in the source tree.
    sources = {folder.split("/")[0] for folder in setuptools_config()["package-dir"].values()} - {"realnet"}
    assert sources and not [n for n in names if n.split("/")[0] in sources]


def test_realnet_is_imported_from_the_environment_not_the_source_tree(installed: Installed,
                                                                     tmp_path: Path) -> None:
    modules = ("realnet", "realnet.shell", "realnet.tui", "realnet.initialization")
    code = f"import importlib; print('\\n'.join(importlib.import_module(m).__file__ for m in {modules!r}))"
    done = run([installed.python, "-c", code], cwd=tmp_path)
    purelib = run([installed.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=tmp_path).stdout.strip()
    files = [Path(line).resolve() for line in done.stdout.splitlines()]
    assert len(files) == len(modules), done.stdout
    for module, file in zip(modules, files, strict=True):
        assert file.is_relative_to(Path(purelib).resolve()), f"{module} comes from {file}"
        assert not file.is_relative_to(ROOT), f"{module} comes from the source tree: {file}"


def test_the_installed_command_helps_and_initializes(installed: Installed, tmp_path: Path) -> None:
    home = Path(os.environ["REALNET_HOME"])
    helped = run([installed.realnet, "--help"], cwd=tmp_path)
    assert "shell" in helped.stdout and "server" in helped.stdout, helped.stdout
    assert not home.exists(), "--help created the store"

    init = run([installed.realnet, "init"], cwd=tmp_path)
    assert "initialized from" in init.stdout + init.stderr
    assert "Traceback" not in init.stderr
    # The types came from the wheel's initialization/*.json.
    listed = run([installed.realnet, "ls", "/types", "-o", "json"], cwd=tmp_path)
    names = {item["name"] for item in json.loads(listed.stdout)["items"]}
    assert {"Folder", "Document"} <= names, names


def test_the_installed_server_is_healthy_and_ready_then_stops_on_sigterm(installed: Installed,
                                                                        tmp_path: Path) -> None:
    port = free_port()
    stderr_path = tmp_path / "server.err"
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen([installed.realnet, "server"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path,
                                env=clean_environment(REALNET_SERVER_HOST="127.0.0.1",
                                                      REALNET_SERVER_PORT=str(port)))
    server = Server(proc, port, stderr_path)
    healthcheck = [installed.python, *healthcheck_command()[1:]]
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=WAIT_SECONDS) as http:
            assert http.get("/healthz").status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 200, ready.text
        # Docker's check, run by the environment's python as the image's python would run it.
        check = subprocess.run(healthcheck, capture_output=True, text=True, cwd=tmp_path,
                               env=clean_environment(REALNET_SERVER_PORT=str(port)), timeout=WAIT_SECONDS)
        assert check.returncode == 0, check.stderr
        os.kill(proc.pid, signal.SIGTERM)
        assert server.wait_exit() == 0, server.stderr()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=WAIT_SECONDS)
    assert f"http: listening on 127.0.0.1:{port}" in server.stderr()
    assert "Traceback" not in server.stderr()
    # With the server gone, the same check reports the container unhealthy.
    check = subprocess.run(healthcheck, capture_output=True, text=True, cwd=tmp_path,
                           env=clean_environment(REALNET_SERVER_PORT=str(port)), timeout=WAIT_SECONDS)
    assert check.returncode != 0
