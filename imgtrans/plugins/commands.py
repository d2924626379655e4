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


def add_plugin_commands(host: Any, app: Any) -> None:
    """Let the plugins of ``host`` add CLI commands; a failing or clashing plugin is recorded
    as failed, not fatal.

    Whatever ``app`` holds when this is called counts as built-in. Each plugin's hook runs
    against the real app; afterwards the app's command lists are put back as they were and
    only the plugin's new commands are re-added, and only if none of their names is taken
    (by a built-in or an earlier plugin). So a plugin can neither replace nor remove a
    built-in command."""
    from imgtrans.plugins.references import failure_message

    owners: dict[str, str | None] = {n: None for n in commands_of(app)}  # None: built-in
    for impl in host.pm.hook.register_commands.get_hookimpls():
        name = host.pm.get_name(impl.plugin) or "?"
        record = host.record_for(name)
        if record.status != "ok":  # failed in register_translators: add nothing more
            continue
        before = AppCommands.of(app)
        try:
            result = impl.function(**{arg: app for arg in impl.argnames if arg == "app"})
        except Exception as exc:
            before.restore(app)
            host.fail(record, f"register_commands failed: {failure_message(exc)}", exc)
            continue
        new = before.taken_back_from(app)
        added: list[str] = []
        clashes: list[str] = []
        for cname in new.names():
            if cname in owners or cname in added:
                owner = owners.get(cname)
                clashes.append(f"command {cname!r} clashes with "
                               + ("a built-in command" if cname in owners and owner is None
                                  else f"a command of plugin {owner or name!r}"))
            else:
                added.append(cname)
        if clashes:
            host.fail(record, f"register_commands: {'; '.join(clashes)}; "
                              "none of its commands were added")
            continue
        before.plus(new).restore(app)
        owners.update({cname: name for cname in added})
        record.provides = record.provides + [f"command:{c}" for c in added]
        host.check_returned(record, "register_commands", result)


def _contains(items: tuple[Any, ...], item: Any) -> bool:
    """Identity membership: typer's info objects are dataclasses, and equal ones may differ."""
    return any(i is item for i in items)
