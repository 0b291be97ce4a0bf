"""jht-bridge: the bridge between the 锦亨泰商城 mini-program and the on-premises ERP.

A plugin marks its hook functions with ``@hookimpl`` (``from bridge import hookimpl``); the hooks
and their contracts are in ``bridge.hookspecs``."""

from bridge.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"
