"""The inventory formats by name: read one, or tell which one a pasted record is."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .ansible import read_ansible
from .model import Inventory, InventoryError
from .osquery import read_osquery
from .salt import read_salt
from .systeminfo import read_systeminfo
from .wmi import read_wmi

FORMATS: Mapping[str, Callable[[object], Inventory]] = {
    "systeminfo": read_systeminfo,
    "wmi": read_wmi,
    "ansible": read_ansible,
    "salt": read_salt,
    "osquery": read_osquery,
}
# Keys that only one JSON format's records hold at their top (or one level down).
_SALT_GRAINS = frozenset({"osfullname", "osservicepack", "cpuarch", "osrelease", "os_family"})
_WMI_PROPERTIES = frozenset({"caption", "csdversion", "osarchitecture", "servicepackmajorversion"})


def read_inventory(value: object) -> Inventory:
    """Read a SYSTEM's `inventory` (`{"format", "data"}`); an OS must be found in the data."""
    if not isinstance(value, dict):
        raise InventoryError("", 'must be a JSON object: {"format": …, "data": …}')
    name = value.get("format")
    reader = FORMATS.get(name) if isinstance(name, str) else None
    if reader is None:
        raise InventoryError("format", f"must be one of {', '.join(FORMATS)}")
    if "data" not in value:
        raise InventoryError("data", "is required")
    inventory = reader(value["data"])
    if not inventory.names_a_system:
        raise InventoryError("data", f"holds no operating system name or version ({name})")
    return inventory


def detect_format(data: object) -> str | None:
    """The format a pasted record is in (text is systeminfo's), or None when unclear."""
    if isinstance(data, str):
        return "systeminfo"
    if not isinstance(data, dict):
        return None
    keys = {str(key).lower() for key in data}
    inner = next(iter(data.values())) if len(data) == 1 else None
    found = [
        name
        for name, fits in (
            ("ansible", "ansible_facts" in keys or any(k.startswith("ansible_") for k in keys)),
            ("osquery", "os_version" in keys),
            (
                "salt",
                bool(keys & _SALT_GRAINS)
                or (isinstance(inner, dict) and bool(set(map(str, inner)) & _SALT_GRAINS)),
            ),
            ("wmi", bool(keys & _WMI_PROPERTIES)),
        )
        if fits
    ]
    return found[0] if len(found) == 1 else None
