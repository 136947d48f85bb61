"""What the backend, detector and publisher registries share: import a class by name, or say what to install."""

from __future__ import annotations

import importlib


def import_class(kind: str, name: str, module: str, cls: str, package: str | None, error: type[Exception],
                 fix: str | None = None) -> type:
    """`module.cls`, imported only now; a missing library raises `error` naming the package and the fix."""
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        package = package or e.name
        raise error(f"{kind} {name!r} needs the package {package}: {fix or f'pip install {package}'} ({e})") from None
