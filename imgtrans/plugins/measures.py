"""The measures plugins register through ``register_measures`` (see the hookspec), collected
when evaluation asks for them: ``imgtrans eval`` is the only user, so listing translators or
converting never pays for it.

Failure is contained as for translators: a hook that raises, or registers something that is
not a ``Measure`` or a name another plugin took, costs that plugin's measures only; the
problem is logged and kept in :attr:`MeasureRegistry.errors`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from imgtrans.errors import PluginError
from imgtrans.eval.types import Measure

log = logging.getLogger(__name__)


@dataclass
class MeasureRegistry:
    """Measure name -> measure, which plugin gave it, and the plugins whose hook failed."""

    measures: dict[str, Measure] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def collect_measures(host: Any) -> MeasureRegistry:
    """Call every loaded plugin's ``register_measures`` and return what they registered.
    Plugins that failed to load or are blocked are skipped. Hooks only build small
    ``Measure`` values, so this is cheap; ``imgtrans eval`` calls it once."""
    host.load_builtins()
    registry = MeasureRegistry()
    for impl in host.pm.hook.register_measures.get_hookimpls():
        name = host.pm.get_name(impl.plugin) or "?"
        record = host.records.get(name)
        if record is not None and record.status in ("failed", "blocked"):
            continue
        added: list[str] = []

        def register(measure: Measure, plugin: str = name, added: list[str] = added) -> None:
            if not isinstance(measure, Measure):
                raise PluginError(f"{measure!r} is not an imgtrans.plugin.Measure")
            owner = registry.owners.get(measure.name)
            if owner is not None:
                raise PluginError(f"measure {measure.name!r} is already provided by plugin {owner!r}")
            registry.measures[measure.name] = measure
            registry.owners[measure.name] = plugin
            added.append(measure.name)

        try:
            impl.function(**{arg: register for arg in impl.argnames if arg == "register"})
        except Exception as exc:  # one plugin's bad hook must not cost the others theirs
            for measure_name in added:
                registry.measures.pop(measure_name, None)
                registry.owners.pop(measure_name, None)
            registry.errors[name] = f"register_measures failed: {type(exc).__name__}: {exc}"
            log.warning("plugin %s: %s", name, registry.errors[name])
            continue
        if record is not None:
            record.provides = list(record.provides) + [f"measure:{m}" for m in added
                                                       if f"measure:{m}" not in record.provides]
    return registry


def get_measures() -> dict[str, Measure]:
    """The measures of the process-wide plugin host."""
    from imgtrans.plugins.manager import get_host

    return collect_measures(get_host()).measures
