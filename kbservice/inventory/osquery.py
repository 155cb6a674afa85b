"""osquery results as `osqueryi --json` prints them, keyed by table name.

`os_version` names the system (`name` is Win32_OperatingSystem.Caption, `arch` its
OSArchitecture); `interface_addresses` gives addresses, `patches` installed updates. The
service pack is in none of these: a `registry` row for CurrentVersion's `CSDVersion`
value gives it (`SELECT name, data FROM registry WHERE key = 'HKEY_LOCAL_MACHINE\\SOFTWARE
\\Microsoft\\Windows NT\\CurrentVersion'`).
"""

from __future__ import annotations

from typing import Any

from .model import (
    Inventory,
    InventoryError,
    ip_address,
    service_pack,
    text,
    unique,
    update,
    version,
)

_ADDRESSES = "interface_addresses"


def read_osquery(data: object) -> Inventory:
    """Read `{"os_version": [row], "interface_addresses": [rows]?, "patches": [rows]?}`."""
    if not isinstance(data, dict):
        raise InventoryError("data", "must be a JSON object of query results keyed by table")
    os_rows = _rows(data, "os_version")
    row = os_rows[0] if os_rows else {}
    csd = [r.get("data") for r in _rows(data, "registry") if r.get("name") == "CSDVersion"]
    return Inventory(
        caption=text(row.get("name")),
        version=version(row.get("version")),
        service_pack=service_pack(csd[0]) if csd else None,
        architecture=text(row.get("arch")),
        ip_addresses=unique([ip_address(r.get("address")) for r in _rows(data, _ADDRESSES)]),
        installed_updates=unique([update(r.get("hotfix_id")) for r in _rows(data, "patches")]),
    )


def _rows(data: dict[str, Any], table: str) -> list[dict[str, Any]]:
    rows = data.get(table)
    if isinstance(rows, dict):
        rows = [rows]  # one row sent bare
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
