"""Secrets from the config: a value, an environment variable or a file (systemd credentials), exactly one."""

from __future__ import annotations

import os
from pathlib import Path

from .config import ConfigError


def read_secret(section: str, cfg, name: str) -> str:
    """`<section>.<name>`, `<name>_env` or `<name>_file` of `cfg`, whichever one is set; '' when none is.

    A relative `<name>_file` is looked up in $CREDENTIALS_DIRECTORY, where systemd's LoadCredential= puts it.
    """
    keys = (name, f"{name}_env", f"{name}_file")
    given = [k for k in keys if getattr(cfg, k)]
    if len(given) > 1:
        raise ConfigError([f"set only one of {', '.join(f'{section}.{k}' for k in given)}"])
    env, file = getattr(cfg, keys[1]), getattr(cfg, keys[2])
    if env:
        if env not in os.environ:
            raise ConfigError([f"{section}.{keys[1]} = {env!r}: that environment variable is not set"])
        return os.environ[env]
    if file:
        path = Path(file)
        if not path.is_absolute() and os.environ.get("CREDENTIALS_DIRECTORY"):
            path = Path(os.environ["CREDENTIALS_DIRECTORY"]) / path
        try:
            return path.read_text().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError([f"{section}.{keys[2]} = {file!r}: cannot read {path} "
                               f"({getattr(e, 'strerror', None) or e})"]) from None
    return getattr(cfg, name)
