"""MkDocs hook: drop nav entries whose page is not in this checkout (pages still being written)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.optional_pages")


def _keep(item: Any, docs: Path) -> bool:
    if isinstance(item, dict):
        ((_, target),) = item.items()
        if isinstance(target, list):
            target[:] = [t for t in target if _keep(t, docs)]
            return bool(target)
        item_path = target
    else:
        item_path = item
    if isinstance(item_path, str) and item_path.endswith(".md") and not (docs / item_path).exists():
        log.info("nav: %s is not in this checkout; left out", item_path)
        return False
    return True


def on_config(config: Any) -> Any:
    docs = Path(config["docs_dir"])
    if config["nav"]:
        config["nav"] = [item for item in config["nav"] if _keep(item, docs)]
    return config
