"""The commands and sub-apps on a typer app, so plugin commands can be added only when
they replace nothing (typer itself lets a later command shadow an earlier one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AppCommands:
    """A copy of a typer app's registered commands and sub-app groups."""

    commands: tuple[Any, ...]
    groups: tuple[Any, ...]

    @classmethod
    def of(cls, app: Any) -> "AppCommands":
        return cls(tuple(app.registered_commands), tuple(app.registered_groups))

    def restore(self, app: Any) -> None:
        app.registered_commands, app.registered_groups = list(self.commands), list(self.groups)

    def taken_back_from(self, app: Any) -> "AppCommands":
        """What ``app`` gained since this copy; ``app`` is put back as it was."""
        new = AppCommands(tuple(c for c in app.registered_commands if not _contains(self.commands, c)),
                          tuple(g for g in app.registered_groups if not _contains(self.groups, g)))
        self.restore(app)
        return new

    def plus(self, other: "AppCommands") -> "AppCommands":
        return AppCommands(self.commands + other.commands, self.groups + other.groups)

    def names(self) -> list[str]:
        """The top-level names typer will give these commands and sub-apps."""
        import typer.main

        names = [c.name or typer.main.get_command_name(getattr(c.callback, "__name__", "?"))
                 for c in self.commands]
        for group in self.groups:
            solved = typer.main.solve_typer_info_defaults(group)
            if solved.name:
                names.append(solved.name)
            elif group.typer_instance is not None:  # a nameless sub-app merges into its parent
                names += commands_of(group.typer_instance)
        return names


def commands_of(app: Any) -> list[str]:
    return AppCommands.of(app).names()


def _contains(items: tuple[Any, ...], item: Any) -> bool:
    """Identity membership: typer's info objects are dataclasses, and equal ones may differ."""
    return any(i is item for i in items)
