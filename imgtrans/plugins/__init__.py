"""Plugin system: pluggy hook specifications, the plugin manager and the translator registry."""

from imgtrans.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
