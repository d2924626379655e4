"""Discovers plugins, runs their registration hooks and keeps what they registered.

Loading order: entry points of the ``imgtrans`` group (the built-ins are entry points of the
``imgtrans`` distribution itself), then the built-in modules not found as entry points (an
uninstalled checkout), then the modules named in ``IMGTRANS_PLUGINS``. Third-party plugins
are imported at once (they may add CLI commands); built-ins add no commands (a test checks it)
and are imported on first access to the translators or records, so ``imgtrans --help`` does
not pay for them. A built-in's translator name is reserved from the start: a third-party
plugin registering it fails, whether or not the built-in was imported yet.

Which plugins the environment selects (``IMGTRANS_LOAD_PLUGINS``,
``IMGTRANS_DISABLE_PLUGINS``, ``IMGTRANS_PLUGINS``) is :mod:`imgtrans.plugins.selection`.

A plugin that fails on import or inside a hook is recorded as failed with its error; the
others keep working. Translators registered by reference (``"module:Class"``, see
:mod:`imgtrans.plugins.references`) are imported on first lookup, one by one: one that fails
leaves its plugin ``partial`` (``failed`` if nothing of it works) and only it is missing. Hook implementations that return a value, or whose name matches no hook,
are accepted but noted in the record's ``warnings`` and logged.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from imgtrans.errors import PluginError
from imgtrans.plugins import hookspecs
from imgtrans.plugins.commands import add_plugin_commands
from imgtrans.plugins.references import (BrokenReference, Reference, check_reference,
                                         check_translator_class, failure_message, import_reference)
from imgtrans.plugins.selection import OWN_DISTRIBUTION, normalise, read_selection
from imgtrans.plugins.unknown import unknown_translator
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
    "zoo": "imgtrans_zoo.translator",
}


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
    warnings: list[str] = field(default_factory=list)
    """Problems that do not stop the plugin (a hook returned a value, an unknown hook name)."""


class PluginHost:
    """A pluggy manager plus the registries its hooks fill."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self._records: dict[str, PluginRecord] = {}
        self._translators: dict[str, type[Translator]] = {}
        self._translator_plugin: dict[str, str] = {}
        self._deferred: dict[str, tuple[Any, str | None, str, bool]] = {}
        """Built-in plugins not imported yet: name -> ``_load`` arguments. They add no
        commands, so the CLI can register commands (and print ``--help``) without them."""
        self._references: list[Reference] = []
        """Translators registered as ``"module:Class"``, imported on first lookup."""
        self.broken: list[BrokenReference] = []
        """References that did not import or register; only their translator is missing."""
        self._loading = threading.RLock()
        self.env_warnings: list[str] = []
        """Unknown names in the environment variables; logged once, when loading."""
        self.not_selected: list[str] = []
        """Installed third-party plugins that ``IMGTRANS_LOAD_PLUGINS`` leaves out."""
        self._commands_registered = False

    # -- what plugins registered (built-ins are imported on first access) ---------------
    @property
    def records(self) -> dict[str, PluginRecord]:
        self.load_builtins()
        return self._records

    @property
    def translators(self) -> dict[str, type[Translator]]:
        self.load_builtins()
        return self._translators

    @property
    def translator_plugin(self) -> dict[str, str]:
        self.load_builtins()
        return self._translator_plugin

    def load_builtins(self) -> None:
        """Import the deferred built-in plugins, then the translator references, one at a
        time so that a broken module fails only its own translator (cheap when done)."""
        if not self._deferred and not self._references:
            return
        with self._loading:  # engines and the web server look translators up from threads
            while self._deferred:
                name = next(iter(self._deferred))
                self._load(name, *self._deferred[name])
                del self._deferred[name]
            touched = {ref.plugin for ref in self._references}
            while self._references:
                self._resolve(self._references.pop(0))
            for name in touched & {b.plugin for b in self.broken}:
                record = self._records[name]
                if record.status == "ok":  # some of it works: "partial"; nothing: "failed"
                    record.status = "partial" if record.provides else "failed"

    def _resolve(self, ref: Reference) -> None:
        record = self._records.get(ref.plugin)
        if record is None or record.status not in ("ok", "partial"):
            return
        try:
            cls = import_reference(ref.reference)
            self._add_translator(cls, ref.plugin)
        except Exception as exc:  # this translator only: the plugin's others keep working
            broken = BrokenReference(ref.reference, ref.plugin, record.source,
                                     failure_message(exc), exc)
            self.broken.append(broken)
            record.error = "; ".join(filter(None, [record.error, f"{ref.reference}: {broken.error}"]))
            log.warning("plugin %s (%s): translator %s failed: %s", record.name, record.source,
                        ref.reference, broken.error)
            log.debug("traceback of %s", ref.reference, exc_info=exc)
            return
        record.provides.append(f"translator:{cls.name}")

    # -- loading -----------------------------------------------------------------------
    def load_all(self) -> None:
        entry_points = _entry_points()
        dists = _distributions(entry_points)
        selection = read_selection(
            sorted({ep.name for ep in entry_points} | set(BUILTIN_PLUGINS)),
            sorted({dists[id(ep)][0] for ep in entry_points if ep.dist
                    and normalise(dists[id(ep)][0]) != OWN_DISTRIBUTION}),
            list(BUILTIN_PLUGINS))
        for message in selection.warnings:
            self.env_warnings.append(message)
            log.warning("%s", message)
        for ep in entry_points:
            dist, version = dists[id(ep)]
            own = normalise(dist) == OWN_DISTRIBUTION
            # Built-ins answer to their plugin name only: blocking "imgtrans" must not block all.
            names = {normalise(ep.name)} if own else {normalise(ep.name), normalise(dist)}
            if not selection.loads(names, own):
                self.not_selected.append(ep.name)
                continue
            source = "builtin" if own else f"entrypoint:{dist}"
            if own:
                self._deferred.setdefault(ep.name, (ep.load, version, source, selection.blocks(names)))
            else:
                self._load(ep.name, ep.load, version, source, selection.blocks(names))
        own_version = _own_version()
        for name, module in BUILTIN_PLUGINS.items():
            if name not in self._records:
                self._deferred.setdefault(name, (lambda m=module: importlib.import_module(m),
                                                 own_version, "checkout",
                                                 selection.blocks({normalise(name)})))
        for module in selection.modules:
            self._load(module, lambda m=module: importlib.import_module(m), None, "env",
                       selection.blocks({normalise(module)}))

    def _load(self, name: str, importer: Any, version: str | None, source: str,
              blocked: bool) -> None:
        if name in self._records:
            return
        record = PluginRecord(name=name, version=version or "unknown", source=source)
        self._records[name] = record
        if blocked:
            record.status = "blocked"
            self.pm.set_blocked(name)
            return
        try:
            plugin = importer()
        except Exception as exc:  # a broken plugin must not break the others
            self.fail(record, f"import failed: {failure_message(exc)}", exc)
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
            self._records[name] = record
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self.fail(record, f"registration failed: {exc}")
            return record
        callers = self.pm.get_hookcallers(plugin) or []
        record.hooks = sorted(h.name for h in callers)
        known = ", ".join(sorted(n for n, f in vars(hookspecs).items()
                                 if hasattr(f, f"{ENTRY_POINT_GROUP}_spec")))
        for caller in callers:
            if not caller.has_spec():  # pluggy accepts unknown names; they would never be called
                self._warn(record, f"hook {caller.name!r} is not an imgtrans hook (known: {known}); "
                                   "it is never called")
        self._call_register_translators(plugin, record)
        return record

    def unregister(self, name: str) -> None:
        """Remove a plugin and everything it registered (used by tests and tooling)."""
        self.load_builtins()
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)
        for tname in [t for t, p in self._translator_plugin.items() if p == name]:
            del self._translators[tname]
            del self._translator_plugin[tname]
        self.broken = [b for b in self.broken if b.plugin != name]
        self._records.pop(name, None)

    def _call_register_translators(self, plugin: object, record: PluginRecord) -> None:
        impl = next((i for i in self.pm.hook.register_translators.get_hookimpls()
                     if i.plugin is plugin), None)
        if impl is None:
            return
        added: list[str] = []
        referenced: list[Reference] = []

        def register(cls: type[Translator] | str) -> None:
            if isinstance(cls, str):  # "module:Class", imported on first lookup
                referenced.append(Reference(check_reference(cls), record.name))
                return
            self._add_translator(cls, record.name)
            added.append(cls.name)

        try:
            result = impl.function(**{arg: register for arg in impl.argnames if arg == "register"})
        except Exception as exc:
            for tname in added:
                self._translators.pop(tname, None)
                self._translator_plugin.pop(tname, None)
            self.fail(record, f"register_translators failed: {failure_message(exc)}", exc)
            return
        self._references.extend(referenced)
        record.provides = [f"translator:{t}" for t in added]
        self.check_returned(record, "register_translators", result)

    def _add_translator(self, cls: type[Translator], plugin: str) -> None:
        check_translator_class(cls)
        # A built-in's translator carries its plugin's name; it keeps that name even
        # before it is imported.
        owner = self._translator_plugin.get(cls.name) or (
            cls.name if cls.name in self._deferred else None)
        if owner is not None and owner != plugin:
            raise PluginError(f"translator {cls.name!r} is already provided by plugin {owner!r}")
        self._translators[cls.name] = cls
        self._translator_plugin[cls.name] = plugin

    def check_returned(self, record: PluginRecord, hook: str, result: Any) -> None:
        """Hooks use register callbacks; a returned value usually means a misunderstanding
        (e.g. returning the classes instead of registering them), so say so."""
        if result is not None:
            self._warn(record, f"hook {hook} returned a {type(result).__name__}; imgtrans hooks "
                               "must not return values (the value was ignored)")

    def _warn(self, record: PluginRecord, message: str) -> None:
        record.warnings.append(message)
        log.warning("plugin %s (%s): %s", record.name, record.source, message)

    def fail(self, record: PluginRecord, message: str, exc: BaseException | None = None) -> None:
        record.status = "failed"
        record.error = message
        log.warning("plugin %s (%s) failed: %s", record.name, record.source, message)
        if exc is not None:
            log.debug("traceback of plugin %s", record.name, exc_info=exc)  # -v shows it

    def register_commands(self, app: Any) -> None:
        """Let plugins add CLI commands, once; see :func:`add_plugin_commands`."""
        if not self._commands_registered:
            self._commands_registered = True
            add_plugin_commands(self, app)

    def record_for(self, name: str) -> PluginRecord:
        """The record of plugin ``name`` (a stand-in for a plugin registered around the host)."""
        return self._records.get(name) or PluginRecord(name=name, version="unknown", source="?")

    # -- lookups -----------------------------------------------------------------------
    def get_translator(self, name: str) -> type[Translator]:
        self.load_builtins()
        if name in self._translators:
            return self._translators[name]
        raise unknown_translator(name, self._translators, self._records.values(),
                                 self.not_selected, self.broken)

    def known_weight_specs(self) -> list[WeightSpec]:
        from imgtrans.weights.bundled import plugin_specs
        from imgtrans.weights.registry import load_registry

        specs = {spec.name: spec for spec in load_registry()}
        for cls in self.translators.values():
            for spec in plugin_specs(cls):
                specs.setdefault(spec.name, spec)
        return list(specs.values())


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _distributions(entry_points: list[metadata.EntryPoint]) -> dict[int, tuple[str, str]]:
    """id(entry point) -> (its distribution's name, version); ("unknown", "unknown") without
    one. Each distribution's metadata is parsed once: ``Distribution.name`` and ``.version``
    parse the whole METADATA file (imgtrans': 32 kB, the README included) on every access."""
    facts: dict[int, tuple[str, str]] = {}
    parsed: dict[int, tuple[str, str]] = {}
    for ep in entry_points:
        if ep.dist is None:
            facts[id(ep)] = ("unknown", "unknown")
            continue
        if id(ep.dist) not in parsed:
            meta = ep.dist.metadata
            parsed[id(ep.dist)] = (meta["Name"], meta["Version"])
        facts[id(ep)] = parsed[id(ep.dist)]
    return facts


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
