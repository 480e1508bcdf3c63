"""Completion: what :func:`analyze` expects at the cursor, how lines split into
commands, and the prompt-toolkit completer against a real (temporary) store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from realnet.commands import command_group
from realnet.commands.session import Session
from realnet.config import load_settings
from realnet.core.errors import UsageError
from realnet.shell.completer import ShellCompleter
from realnet.shell.completion import analyze, split_path_prefix
from realnet.shell.lines import split_commands, split_words


@pytest.fixture(scope="module")
def commands() -> dict[str, click.Command]:
    return dict(command_group().commands)


# -- analyze -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "l", "cr", "  "])
def test_the_first_word_is_a_command(commands, text: str) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "command"
    assert expect.prefix == text.strip()


def test_flags_of_the_command(commands) -> None:
    expect = analyze("ls -", commands)
    assert expect.kind == "flag"
    assert expect.command == "ls"
    assert expect.prefix == "-"
    assert "--long" in expect.options
    assert "--help" in expect.options
    assert all(option.startswith("--") for option in expect.options)


def test_a_partial_flag_keeps_its_prefix(commands) -> None:
    expect = analyze("create x --ty", commands)
    assert expect.kind == "flag"
    assert expect.prefix == "--ty"
    assert "--type" in expect.options


@pytest.mark.parametrize("text, prefix", [
    ("create x --type ", ""),
    ("create x --type Doc", "Doc"),
    ("create x -t Doc", "Doc"),
    ("find / -t ", ""),
    ("types ", ""),
    ("types Fo", "Fo"),
])
def test_type_values(commands, text: str, prefix: str) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "type"
    assert expect.prefix == prefix


@pytest.mark.parametrize("text", [
    "create x --type Document --attr ",
    "create x -t Document -a ",
    "create x --attr title=Plan --type Document --attr ",
])
def test_attributes_of_the_type_being_created(commands, text: str) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "attribute"
    assert expect.command == "create"
    assert expect.type_name == "Document"
    assert expect.item_path is None
    assert expect.prefix == ""


@pytest.mark.parametrize("text, prefix", [
    ("set notes ", ""),
    ("set notes ti", "ti"),
    ("set notes title=Plan ", ""),
    ("set --if-version 3 notes ", ""),
    ("set notes --unset ", ""),
])
def test_attributes_of_the_item_being_set(commands, text: str, prefix: str) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "attribute"
    assert expect.command == "set"
    assert expect.item_path == "notes"
    assert expect.type_name is None
    assert expect.prefix == prefix


@pytest.mark.parametrize("text, command, prefix", [
    ("cd /ap", "cd", "/ap"),
    ("cd ", "cd", ""),
    ("ls /projects/no", "ls", "/projects/no"),
    ("ls -l ", "ls", ""),
    ("rm -r /a /b", "rm", "/b"),
    ("set ", "set", ""),
    ("mv /a ", "mv", ""),
    ("import data.json ", "import", ""),
])
def test_paths(commands, text: str, command: str, prefix: str) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "path"
    assert expect.command == command
    assert expect.prefix == prefix


@pytest.mark.parametrize("text, prefix", [("help ", ""), ("help l", "l")])
def test_help_takes_a_command_name(commands, text: str, prefix: str) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "command"
    assert expect.command == "help"
    assert expect.prefix == prefix


@pytest.mark.parametrize("text, prefix", [
    ("import ", ""),
    ("import ./da", "./da"),
    ("export / --file ", ""),
    ("export / -f out.js", "out.js"),
])
def test_files_on_the_local_disk(commands, text: str, prefix: str) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "file"
    assert expect.prefix == prefix


@pytest.mark.parametrize("text, choices", [
    ("ls -o ", {"json", "yaml", "table"}),
    ("ls / --output j", {"json", "yaml", "table"}),
    ("get /home -o ", {"json", "yaml", "table"}),
    ("export / --format ", {"json", "yaml", "tar", "tar.gz"}),
])
def test_choices(commands, text: str, choices: set[str]) -> None:
    expect = analyze(text, commands)
    assert expect.kind == "choice"
    assert set(expect.options) == choices


@pytest.mark.parametrize("text", [
    "pwd ",           # takes no argument
    "frob ",          # no such command
    "exit ",          # a shell word, not a click command
    "ls --limit ",    # a number: nothing to offer
])
def test_nothing_to_offer(commands, text: str) -> None:
    assert analyze(text, commands).kind == "none"


def test_an_open_quote_still_completes(commands) -> None:
    expect = analyze('create "my no', commands)
    assert expect.kind == "path"
    assert expect.command == "create"


def test_split_path_prefix() -> None:
    assert split_path_prefix("/projects/no") == ("/projects/", "no")
    assert split_path_prefix("/projects/") == ("/projects/", "")
    assert split_path_prefix("/") == ("/", "")
    assert split_path_prefix("no") == ("", "no")
    assert split_path_prefix("") == ("", "")


# -- split_commands ------------------------------------------------------------------


@pytest.mark.parametrize("line, expected", [
    ("ls", ["ls"]),
    ("cd /projects; ls", ["cd /projects", "ls"]),
    ("  ls ;; pwd ; ", ["ls", "pwd"]),
    ("", []),
    ("   ", []),
    ("# only a comment", []),
    ("ls / # a comment; pwd", ["ls /"]),
    ("ls /a#b", ["ls /a#b"]),
    ("ls /a;#b", ["ls /a"]),
    ('create "a;b" --type Folder; ls', ['create "a;b" --type Folder', "ls"]),
    ("create 'a # b' --type Folder", ["create 'a # b' --type Folder"]),
    ('set x "title=a # b; c"', ['set x "title=a # b; c"']),
    ("set x 'it\"s'; ls", ["set x 'it\"s'", "ls"]),
    ("ls a\\;b; pwd", ["ls a\\;b", "pwd"]),
    ("ls a\\ #b", ["ls a\\ #b"]),
    ("ls \\#x; pwd", ["ls \\#x", "pwd"]),
])
def test_split_commands(line: str, expected: list[str]) -> None:
    # '#' starts a comment only where a word starts, as in sh: not inside quotes, not
    # after a backslash, and not after an escaped space (``a\\ #b`` is one word "a #b")
    assert split_commands(line) == expected


@pytest.mark.parametrize("line", ['ls "/open', "ls '/open; pwd", 'ls "a" "b'])
def test_an_unterminated_quote_is_a_usage_error(line: str) -> None:
    with pytest.raises(UsageError, match="unterminated"):
        split_commands(line)


def test_split_words_unquotes() -> None:
    assert split_words('create "a;b" --attr "title=x y"') == [
        "create", "a;b", "--attr", "title=x y"]
    with pytest.raises(UsageError):
        split_words('ls "open')


# -- the completer on a real store ---------------------------------------------------


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    settings = load_settings({"REALNET_HOME": str(tmp_path / "home")}, cwd=tmp_path)
    session = Session(settings=settings)
    context = session.context  # a fresh home is initialised on first use
    context.create("/projects", "Folder", {})
    context.create("/projects/notes", "Document", {"title": "Plan"})
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def completer(session: Session, commands) -> ShellCompleter:
    return ShellCompleter(session, commands)


def complete(completer: ShellCompleter, text: str) -> list[tuple[str, int]]:
    event = CompleteEvent(completion_requested=True)
    return [(c.text, c.start_position)
            for c in completer.get_completions(Document(text, len(text)), event)]


def texts(completer: ShellCompleter, text: str) -> list[str]:
    return [t for t, _ in complete(completer, text)]


def test_completer_paths(completer: ShellCompleter) -> None:
    assert complete(completer, "cd /ap") == [("/apps/", -3)]
    assert set(texts(completer, "ls /")) == {"/apps/", "/clusters/", "/home/", "/projects/", "/system/",
                                             "/types/"}
    # an item that holds no children gets no trailing slash
    assert complete(completer, "get /projects/n") == [("/projects/notes", -11)]


def test_completer_paths_relative_to_the_current_folder(session: Session,
                                                        completer: ShellCompleter) -> None:
    assert texts(completer, "cd ap") == ["apps/"]
    session.change_folder("/projects")
    assert texts(completer, "get no") == ["notes"]
    assert texts(completer, "cd ../ap") == ["../apps/"]


def test_completer_unknown_folder_offers_nothing(completer: ShellCompleter) -> None:
    assert texts(completer, "cd /nope/") == []


def test_completer_commands(completer: ShellCompleter) -> None:
    assert complete(completer, "cr") == [("create", -2)]
    assert texts(completer, "ex") == ["exit", "export"]
    assert texts(completer, "help l") == ["logs", "ls"]


def test_completer_types(completer: ShellCompleter) -> None:
    assert complete(completer, "create x --type Doc") == [
        ("Document", -3), ("DocumentList", -3), ("DocumentObject", -3)]
    offered = texts(completer, "create x --type ")
    assert "Folder" in offered
    assert "Item" not in offered  # abstract types cannot be created
    assert "Mount" not in offered and "YamlDocument" in offered


def test_completer_flags_and_choices(completer: ShellCompleter) -> None:
    assert texts(completer, "ls --l") == ["--limit", "--long"]
    assert texts(completer, "ls -o ") == ["json", "table", "yaml"]


def test_completer_attributes_of_an_item(completer: ShellCompleter) -> None:
    offered = texts(completer, "set /home/admin ")
    assert offered == ["description=", "title="]
    assert complete(completer, "set /home/admin ti") == [("title=", -2)]
    assert texts(completer, "set /projects/notes ") == [
        "body=", "description=", "format=", "title="]


def test_completer_attributes_of_a_type_being_created(completer: ShellCompleter) -> None:
    assert texts(completer, "create /projects/n2 --type Document --attr ") == [
        "body=", "description=", "format=", "title="]


def test_completer_unset_offers_bare_names(completer: ShellCompleter) -> None:
    """``--unset NAME`` takes a name, not NAME=VALUE: no ``=`` after it."""
    assert texts(completer, "set /home/admin --unset ") == ["description", "title"]
    assert texts(completer, "set /projects/notes --unset f") == ["format"]


def test_completer_attributes_of_a_missing_item_offer_nothing(
        completer: ShellCompleter) -> None:
    assert texts(completer, "set /nope ") == []


def test_completer_local_files(tmp_path: Path, completer: ShellCompleter) -> None:
    (tmp_path / "export.json").write_text("{}", encoding="utf-8")
    prefix = f"{tmp_path}/exp"
    assert texts(completer, f"import {prefix}") == ["ort.json"]


def test_open_quote_completes_after_the_quote():
    from realnet.commands import command_group
    from realnet.shell.completion import analyze

    expect = analyze('cd "/ap', dict(command_group().commands))
    assert expect.kind == "path" and expect.prefix == "/ap"
