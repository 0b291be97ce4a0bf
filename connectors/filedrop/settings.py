"""The file-drop connector's settings: the ``[connector.filedrop]`` table of the config file
(every key with its default and meaning: etc/bridge.example.toml).

Validated when the connector is loaded (``bridge.plugins.load_connector``), like any plugin
connector's settings; a problem is named ``connector.filedrop.<key>``. A ``root`` that is not
there (the ERP share not mounted yet) is no settings problem: the bridge starts, orders wait in
the outbox, and ``check`` names the folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bridge.config import relative_to_config


class FiledropSettings(BaseModel):
    """``[connector.filedrop]``."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    root: Path = Path("erp")
    """Folder shared with the ERP; out/, in/, archive/ and error/ are made below it. Relative to
    the config file's folder."""
    format: Literal["json", "csv"] = "json"
    """How the bridge writes its files (and reads a stock snapshot): json or csv. Inbound
    files are read by their extension (.json / .csv); any other extension by this format."""
    encoding: Literal["utf-8", "gb18030"] = "utf-8"
    """Text encoding of every file both ways (gb18030: what much Chinese software writes)."""
    require_done_marker: bool = False
    """Read an inbound file only once the ERP has written ``<file>.done`` beside it (for ERPs
    that cannot write to a temporary name and rename, and may pause longer than ``settle_s``
    while writing). The marker says the file is complete: no settle time then."""
    settle_s: float = Field(2.0, ge=0, le=600)
    """An inbound file is read only once its size and modification time have stayed the same
    for this many seconds (an ERP that writes in place may be between two writes). 0 reads a
    file at once: only for an ERP that always writes to a temporary name and renames."""
    watch: bool = True
    """Pick up inbound files at once through file-system notifications; when off (or where the
    share sends none) in/ is looked at every fraction of a second while the bridge waits."""

    @field_validator("root")
    @classmethod
    def _root(cls, value: Path, info: ValidationInfo) -> Path:
        # Whether the folder is there is not asked here: a share not mounted yet is an outage
        # the connector reports (check(), TransientError), and the bridge starts without it.
        return relative_to_config(value, info)
