"""Reading and checking a bundle's config.json (OCI runtime-spec config.md).

``validate`` is hand-written rather than driven by schemas/config.schema.json: it runs on
every `ocirt create`, and importing jsonschema alone costs more than a whole check.
"""

from __future__ import annotations

import errno
import os

from ocirt.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ConfigError", "load", "validate"]


def load(bundle: str) -> dict[str, Any]:
    """Read, parse and validate <bundle>/config.json."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        where = path
        if e.errno == errno.ENOENT and not os.path.isdir(bundle):
            where = bundle
        raise ConfigError("", f"open {where}: {(e.strerror or str(e)).lower()}") from None
    from ocirt import jsonio

    try:
        cfg = jsonio.loads(data)  # refuses NaN/Infinity as Go's decoder does
    except jsonio.DecodeError as e:
        raise ConfigError("", f"{path}: invalid JSON at line {e.lineno} column {e.colno}: "
                              f"{e.msg}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ConfigError("", f"{path}: invalid JSON: {e}") from None
    validate(cfg)
    return cfg


def validate(cfg: Any) -> None:
    """Raise ConfigError(field, problem) for the first thing in cfg the spec forbids."""
    from ocirt.spec.config_shape import config

    if type(cfg) is not dict:
        raise ConfigError("", "the top level must be a JSON object")
    try:
        config(cfg, "")
    except RecursionError:
        raise ConfigError("", "nested too deeply") from None
