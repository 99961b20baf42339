"""The commands of the README's "Deploying across hosts" section, as the consortium test runs them.

The section is written for people: a command run "on each host" is shown for Org1 (``--name
Org1 --ip HOST1``), ``~/org`` is the host's org folder, ``shared/`` the files handed between
hosts, ``P`` the base port and ``HOSTk:PORT`` a node's listen address. :func:`readme_commands`
reads every ``fedlora ...`` line of the section's code blocks (continuation lines joined, comments
dropped); :meth:`ReadmeCommand.argv` fills the placeholders for one host, so the live test runs
the README's own commands and a change to one of them changes what is tested.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

SECTION = "## Deploying across hosts"
README = Path(__file__).resolve().parents[2] / "README.md"
# Values that name the host a command runs on: shown for host 1, run on host k.
_PER_HOST_FLAGS = ("--name", "--ip", "--listen")
_PER_HOST_FILE = re.compile(r"^shared/org\d\.(json|sig)$")
_HOST_TOKEN = re.compile(r"\b(Org|HOST|org)(\d)\b")


@dataclass(frozen=True)
class Placeholders:
    """What the README's placeholders stand for on the machine running the commands."""

    org_dir: dict[str, Path]  # host name (org1, ...) -> its org folder (~/org)
    address: dict[str, str]  # host name -> its address (HOSTk)
    shared: Path  # shared/
    base_port: int  # P
    node_port: int  # PORT in HOSTk:PORT


@dataclass(frozen=True)
class ReadmeCommand:
    """One ``fedlora ...`` command of the section, as written (``argv`` without "fedlora")."""

    words: tuple[str, ...]

    @property
    def subcommand(self) -> str:
        """The command path, e.g. ``network org init`` or ``node join``."""
        return " ".join(w for w in self.words[: self.words.index(self.flags[0])])

    @property
    def flags(self) -> list[str]:
        """The flags it passes, in order (``--dir``, ``--member`` ...)."""
        return [word for word in self.words if word.startswith("--")]

    @property
    def generic(self) -> str:
        """The command with the host it is shown for replaced by ``k``: the commands an admin
        runs on each host in turn (``--name Org1`` / ``--name Org4``) read the same."""
        return " ".join(_per_host(self.words, "k"))

    def argv(self, host: str, where: Placeholders) -> list[str]:
        """The command as run on ``host`` (``org2``: ``--name Org2 --ip <org2's address>``)."""
        words = _per_host(self.words, host.removeprefix("org"))
        return [_fill(word, host, where) for word in words]


def _per_host(words: tuple[str, ...], index: str) -> list[str]:
    out = list(words)
    for i in range(1, len(out)):
        if out[i - 1] in _PER_HOST_FLAGS or (
            out[i - 1] == "--out" and _PER_HOST_FILE.match(out[i])
        ):
            out[i] = _HOST_TOKEN.sub(lambda m: f"{m.group(1)}{index}", out[i])
    return out


def _fill(word: str, host: str, where: Placeholders) -> str:
    if word == "P":
        return str(where.base_port)
    if word.startswith("~/org"):
        return str(where.org_dir[host]) + word.removeprefix("~/org")
    if word.startswith("shared/"):
        return str(where.shared / word.removeprefix("shared/"))
    match = re.fullmatch(r"HOST(\d)(:PORT)?", word)
    if match:
        address = where.address[f"org{match.group(1)}"]
        return f"{address}:{where.node_port}" if match.group(2) else address
    return word


def _section(text: str) -> str:
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def readme_commands(readme: Path = README) -> list[ReadmeCommand]:
    """Every ``fedlora`` command in the section's ``sh`` blocks, in order of appearance."""
    blocks = re.findall(r"```sh\n(.*?)```", _section(readme.read_text(encoding="utf-8")), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["fedlora"]:
                commands.append(ReadmeCommand(tuple(words[1:])))
    return commands


class ReadmeScript:
    """Picks the README's commands by what they do and remembers which were run."""

    def __init__(self, where: Placeholders, readme: Path = README) -> None:
        self.where = where
        self.commands = readme_commands(readme)
        self.run_forms: set[str] = set()

    def argv(self, host: str, subcommand: str, *flags: str, text: str = "") -> list[str]:
        """The README command ``subcommand`` (e.g. ``network org join``) that passes every flag
        in ``flags`` and the fewest others, and holds ``text``, filled in for ``host``; there
        must be one."""
        matches = [
            c
            for c in self.commands
            if c.subcommand == subcommand and set(flags) <= set(c.flags) and text in c.generic
        ]
        # `org deploy` is the one without --via: the fewest flags that still include `flags`.
        fewest = min((len(set(c.flags)) for c in matches), default=0)
        found = {c.generic: c for c in matches if len(set(c.flags)) == fewest}
        assert len(found) == 1, f"README has {len(found)} `{subcommand} {flags}` commands"
        (generic, command), *_ = found.items()
        self.run_forms.add(generic)
        return command.argv(host, self.where)

    def not_run(self) -> list[str]:
        """The README's commands (host-generic) that :meth:`argv` never handed out."""
        return sorted({c.generic for c in self.commands} - self.run_forms)
