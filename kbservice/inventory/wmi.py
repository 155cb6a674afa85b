"""`Win32_OperatingSystem` as PowerShell's `ConvertTo-Json` prints it."""

from __future__ import annotations

from typing import Any

from .model import Inventory, InventoryError, number, product_type, service_pack, text, version


def read_wmi(data: object) -> Inventory:
    """Read `Get-CimInstance Win32_OperatingSystem | ConvertTo-Json` (or Get-WmiObject's)."""
    if not isinstance(data, dict):
        raise InventoryError("data", "must be a JSON object: Win32_OperatingSystem's properties")
    # PowerShell's property names are case-insensitive; so are these.
    properties: dict[str, Any] = {str(key).lower(): value for key, value in data.items()}
    major = number(properties.get("servicepackmajorversion"))
    return Inventory(
        caption=text(properties.get("caption")),
        version=version(properties.get("version")),
        service_pack=major if major is not None else _csd(properties),
        architecture=text(properties.get("osarchitecture")),
        product_type=product_type(properties.get("producttype")),
    )


def _csd(properties: dict[str, Any]) -> int | None:
    # CSDVersion is null on a system without a service pack, but only when it was sent.
    if "csdversion" not in properties:
        return None
    return service_pack(properties["csdversion"])
