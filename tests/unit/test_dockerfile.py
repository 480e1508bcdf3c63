"""The Dockerfile passes hadolint (installed with the test extras), builds the wheel from every
package in one stage and installs only that wheel in a lean, non-root final stage.

No container engine runs here, so these read the Dockerfile; tests/integration/
test_wheel_install.py runs its install steps and its HEALTHCHECK for real.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ("gcc", "g++", "cc", "clang", "make", "build-essential", "python3-dev", "libpq-dev",
               "libffi-dev", "libssl-dev", "git", "curl", "wget")


@dataclass
class Instruction:
    keyword: str
    args: str


def stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped, one list
    per stage (each starting with its FROM)."""
    found: list[list[Instruction]] = []
    logical = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.strip().partition(" ")
        instruction = Instruction(keyword.upper(), args.strip())
        if instruction.keyword == "FROM":
            found.append([])
        assert found, f"an instruction before the first FROM: {logical}"
        found[-1].append(instruction)
        logical = ""
    return found


def final_stage() -> list[Instruction]:
    return stages()[-1]


def runs(stage: list[Instruction]) -> str:
    return "\n".join(i.args for i in stage if i.keyword == "RUN")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_hadolint_is_clean():
    binary = shutil.which("hadolint")
    assert binary, "hadolint is missing: install the test extras (pip install -e '.[test]')"
    done = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_build_has_a_builder_stage_and_a_final_stage():
    found = stages()
    assert len(found) >= 2, "expected a multi-stage build"
    for stage in found:
        assert stage[0].args.split()[0] == "python:3.11-slim", stage[0]
    builder = found[0][0].args.split()
    assert len(builder) == 3 and builder[1].upper() == "AS", found[0][0]
    name = builder[2]
    assert re.search(r"pip wheel\b.*--no-deps", runs(found[0])), "the builder stage builds no wheel"
    # The final stage takes the wheel from the builder, not the sources from the context.
    assert f"from={name}" in runs(final_stage()) or any(
        i.keyword == "COPY" and f"--from={name}" in i.args for i in final_stage())


def test_the_builder_copies_every_package_in_pyproject():
    config = pyproject()["tool"]["setuptools"]
    mapping: dict[str, str] = config["package-dir"]
    folders = set()
    for package in config["packages"]:
        owner = max((p for p in mapping if package == p or package.startswith(p + ".")), key=len, default="")
        rest = package[len(owner):].lstrip(".").replace(".", "/")
        folders.add("/".join(part for part in (mapping.get(owner, ""), rest) if part))
    assert folders >= {"realnet", "shell", "tui", "initialization"}
    copies = [i.args.split() for i in stages()[0] if i.keyword == "COPY"]
    # Each folder keeps its path, so the package-dir mapping holds inside the image.
    copied = {args[0] for args in copies if len(args) == 2 and args[1] == f"./{args[0]}"}
    for folder in sorted(folders):
        assert any(folder == c or folder.startswith(c + "/") for c in copied), \
            f"the builder does not copy {folder}/ (as ./{folder})"
    # The wheel's metadata names the readme, so the build needs it too.
    assert ["pyproject.toml", "README.md", "./"] in copies


def test_everything_the_builder_copies_exists():
    for instruction in stages()[0]:
        if instruction.keyword == "COPY":
            for source in instruction.args.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_the_final_stage_copies_no_sources_and_installs_no_build_tools():
    stage = final_stage()
    assert not [i for i in stage if i.keyword in ("COPY", "ADD") and "--from=" not in i.args]
    words = set(re.split(r"[\s;&|\"'=]+", runs(stage)))
    assert not words & set(BUILD_TOOLS), words & set(BUILD_TOOLS)
    assert "apt-get" not in words and "apk" not in words


def test_the_final_stage_installs_the_wheel_with_the_deployment_extras():
    install = re.search(r"pip install\b[^&]*?\"([^\"]*\.whl|\$1)\[([a-z0-9,-]+)\]\"", runs(final_stage()))
    assert install, runs(final_stage())
    extras = install.group(2).split(",")
    assert sorted(extras) == ["kubernetes", "postgresql", "s3", "sqs"]
    declared = pyproject()["project"]["optional-dependencies"]
    for extra in extras:
        assert extra in declared, f"pyproject.toml declares no extra {extra!r}"


def test_the_final_stage_runs_as_the_manifests_non_root_user():
    stage = final_stage()
    users = [i.args for i in stage if i.keyword == "USER"]
    assert users, "the final stage runs as root"
    uid, _, gid = users[-1].partition(":")
    assert uid not in ("0", "root") and gid not in ("0", "root")
    assert re.search(rf"useradd\b[^&]*--uid {uid}\b[^&]*\brealnet\b", runs(stage))
    deployment = next(doc for doc in yaml.safe_load_all((ROOT / "deploy/k8s/base/realnet.yaml").read_text())
                      if doc and doc["kind"] == "Deployment")
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert str(security["runAsUser"]) == uid
    assert str(security["runAsGroup"]) == (gid or uid)
    # Its home is REALNET_HOME, which it owns.
    assert re.search(r"useradd\b[^&]*--home-dir /data\b", runs(stage))
    assert re.search(rf"chown {uid}(:{gid or uid})? /data\b", runs(stage))


def test_the_final_stage_environment_ports_and_commands():
    stage = final_stage()
    env = dict(word.split("=", 1) for i in stage if i.keyword == "ENV" for word in shlex.split(i.args))
    assert env["REALNET_HOME"] == "/data"
    assert env["REALNET_SERVER_HOST"] == "0.0.0.0"  # noqa: S104 - in the container, every interface
    assert [i.args for i in stage if i.keyword == "EXPOSE"] == ["8080"]
    # `docker run -it IMAGE realnet shell` as the deployment docs write it: no entry point
    assert [i for i in stage if i.keyword == "ENTRYPOINT"] == []
    assert [json.loads(i.args) for i in stage if i.keyword == "CMD"] == [["realnet", "shell"]]


def test_the_final_stage_has_a_standard_library_healthcheck_on_healthz():
    checks = [i.args for i in final_stage() if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1, checks
    options, sep, command = checks[0].partition("CMD ")
    assert sep, checks[0]
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"], argv
    assert "/healthz" in argv[2] and "127.0.0.1" in argv[2]
    assert "curl" not in argv[2] and "wget" not in argv[2]
    assert "--timeout=" in options
