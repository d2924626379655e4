"""Discovers plugins, runs their registration hooks and keeps what they registered.

Loading order: entry points of the ``imgtrans`` group (the built-ins are entry points of the
``imgtrans`` distribution itself), then the built-in modules not found as entry points (an
uninstalled checkout), then the modules named in ``IMGTRANS_PLUGINS``.

Environment:

* ``IMGTRANS_LOAD_PLUGINS``: comma-separated distribution names; when set, only these
  third-party distributions are autoloaded (empty: none). Built-ins are not affected.
* ``IMGTRANS_DISABLE_PLUGINS``: comma-separated plugin names (entry-point or module names)
  that are not loaded at all, built-ins included.
* ``IMGTRANS_PLUGINS``: comma-separated module names to import and register as plugins.

A plugin that fails on import or inside a hook is recorded as failed with its error; the
others keep working.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from imgtrans.errors import PluginError
from imgtrans.plugins import hookspecs
from imgtrans.translators.base import Translator, WeightSpec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "imgtrans"
# Entry-point name -> module, for running from a checkout that is not installed. Must equal
# the [project.entry-points.imgtrans] table of pyproject.toml (a test checks it).
BUILTIN_PLUGINS: dict[str, str] = {
    "cyclegan": "imgtrans_gan.cyclegan",
    "layout2im": "imgtrans_layout2im.translator",
    "pix2pix": "imgtrans_gan.pix2pix",
    "resize": "imgtrans_resize",
    "sdedit": "imgtrans_sdedit.translator",
    "srgan": "imgtrans_srgan.translator",
}
OWN_DISTRIBUTION = "imgtrans"


@dataclass
class PluginRecord:
    """One plugin as ``imgtrans plugins`` lists it."""

    name: str
    version: str
    source: str
    status: str = "ok"
    error: str | None = None
    provides: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


class PluginHost:
    """A pluggy manager plus the registries its hooks fill."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.translators: dict[str, type[Translator]] = {}
        self.translator_plugin: dict[str, str] = {}
        self._commands_registered = False

    # -- loading -----------------------------------------------------------------------
    def load_all(self) -> None:
        blocked = _env_list("IMGTRANS_DISABLE_PLUGINS") or []
        allowed = _env_list("IMGTRANS_LOAD_PLUGINS")
        for ep in _entry_points():
            dist = ep.dist.name if ep.dist else "unknown"
            own = _normalise(dist) == OWN_DISTRIBUTION
            if not own and allowed is not None and _normalise(dist) not in map(_normalise, allowed):
                continue
            source = "builtin" if own else f"entrypoint:{dist}"
            version = ep.dist.version if ep.dist else "unknown"
            self._load(ep.name, ep.load, version, source, blocked)
        own_version = _own_version()
        for name, module in BUILTIN_PLUGINS.items():
            if name not in self.records:
                self._load(name, lambda m=module: importlib.import_module(m), own_version,
                           "checkout", blocked)
        for module in _env_list("IMGTRANS_PLUGINS") or []:
            self._load(module, lambda m=module: importlib.import_module(m), None, "env", blocked)

    def _load(self, name: str, importer: Any, version: str | None, source: str,
              blocked: list[str]) -> None:
        if name in self.records:
            return
        record = PluginRecord(name=name, version=version or "unknown", source=source)
        self.records[name] = record
        if name in blocked:
            record.status = "blocked"
            self.pm.set_blocked(name)
            return
        try:
            plugin = importer()
        except Exception as exc:  # a broken plugin must not break the others
            self._fail(record, f"import failed: {type(exc).__name__}: {exc}")
            return
        if version is None:
            record.version = str(getattr(plugin, "__version__", "unknown"))
        self.register(plugin, name=name, record=record)

    def register(self, plugin: object, name: str, source: str = "api",
                 record: PluginRecord | None = None) -> PluginRecord:
        """Register a plugin object or module and run its registration hooks."""
        if record is None:
            record = PluginRecord(name=name, version=str(getattr(plugin, "__version__", "unknown")),
                                  source=source)
            self.records[name] = record
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._fail(record, f"registration failed: {exc}")
            return record
        record.hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []))
        self._call_register_translators(plugin, record)
        return record

    def unregister(self, name: str) -> None:
        """Remove a plugin and everything it registered (used by tests and tooling)."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)
        for tname in [t for t, p in self.translator_plugin.items() if p == name]:
            del self.translators[tname]
            del self.translator_plugin[tname]
        self.records.pop(name, None)

    def _call_register_translators(self, plugin: object, record: PluginRecord) -> None:
        impl = next((i for i in self.pm.hook.register_translators.get_hookimpls()
                     if i.plugin is plugin), None)
        if impl is None:
            return
        added: list[str] = []

        def register(cls: type[Translator]) -> None:
            _check_translator_class(cls)
            owner = self.translator_plugin.get(cls.name)
            if owner is not None and owner != record.name:
                raise PluginError(f"translator {cls.name!r} is already provided by plugin {owner!r}")
            self.translators[cls.name] = cls
            self.translator_plugin[cls.name] = record.name
            added.append(cls.name)

        try:
            impl.function(**{arg: register for arg in impl.argnames if arg == "register"})
        except Exception as exc:
            for tname in added:
                self.translators.pop(tname, None)
                self.translator_plugin.pop(tname, None)
            self._fail(record, f"register_translators failed: {type(exc).__name__}: {exc}")
            return
        record.provides = [f"translator:{t}" for t in added]

    def _fail(self, record: PluginRecord, message: str) -> None:
        record.status = "failed"
        record.error = message
        log.warning("plugin %s (%s) failed: %s", record.name, record.source, message)

    def register_commands(self, app: Any) -> None:
        """Let plugins add CLI commands; a failing plugin is recorded, not fatal."""
        if self._commands_registered:
            return
        self._commands_registered = True
        for impl in self.pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(app=app)
            except Exception as exc:
                name = self.pm.get_name(impl.plugin) or "?"
                if name in self.records:
                    self._fail(self.records[name], f"register_commands failed: {exc}")

    # -- lookups -----------------------------------------------------------------------
    def get_translator(self, name: str) -> type[Translator]:
        if name in self.translators:
            return self.translators[name]
        known = sorted(self.translators)
        close = difflib.get_close_matches(name, known, n=3)
        msg = f"no translator named {name!r}"
        if close:
            msg += f" (did you mean {', '.join(close)}?)"
        msg += f"; available: {', '.join(known) or 'none'}"
        failed = [r.name for r in self.records.values() if r.status == "failed"]
        if failed:
            msg += f"; plugins that failed to load: {', '.join(failed)} (see `imgtrans plugins`)"
        raise PluginError(msg)

    def known_weight_specs(self) -> list[WeightSpec]:
        from imgtrans.weights.registry import load_registry

        specs = {spec.name: spec for spec in load_registry()}
        for cls in self.translators.values():
            for spec in cls.known_weights:
                specs.setdefault(spec.name, spec)
        return list(specs.values())


def _check_translator_class(cls: Any) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Translator)):
        raise PluginError(f"{cls!r} is not a Translator subclass")
    if not cls.name or cls.name != cls.name.lower() or "." in cls.name:
        raise PluginError(f"{cls.__name__}: name must be a non-empty lower-case name without dots")


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _env_list(var: str) -> list[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _normalise(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def _own_version() -> str:
    from imgtrans import __version__

    return __version__


_host: PluginHost | None = None
_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process-wide plugin host, loaded on first use."""
    global _host
    with _lock:
        if _host is None:
            host = PluginHost()
            host.load_all()
            _host = host
        return _host


def reset() -> None:
    """Forget all plugins; the next ``get_host()`` discovers them again (for tests)."""
    global _host
    with _lock:
        _host = None


def get_translator(name: str) -> type[Translator]:
    return get_host().get_translator(name)


def known_weight_specs() -> list[WeightSpec]:
    return get_host().known_weight_specs()
