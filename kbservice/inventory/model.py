"""What an inventory tool says about a system, and the value readers every format shares.

Values are kept as the tool names them (`X86`, `64-bit`, `Microsoft Windows Server 2003 …`):
recognising products, editions and architectures is the catalog's job, through its aliases.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# Every pattern here is matched against one short value (at most MAX_VALUE characters) and
# has no nested repetition, so a pasted text costs time linear in its length.
_VERSION = re.compile(r"\d{1,9}(?:\.\d{1,9}){0,3}")
_SERVICE_PACK = re.compile(r"service pack (\d{1,3})", re.IGNORECASE)
_UPDATE = re.compile(r"(?:KB|Q) ?(\d{1,9})\b", re.IGNORECASE)

_ADDRESS_START = frozenset("0123456789abcdefABCDEF:")
# Captions, versions and architectures are a few dozen characters; a longer value is not one.
MAX_VALUE = 256
# Win32_OperatingSystem.ProductType: 1 workstation, 2 domain controller, 3 server.
PRODUCT_TYPES = frozenset({1, 2, 3})


class InventoryError(ValueError):
    """Inventory data that cannot be read; `field` is `format` or `data`, as the contract names."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Inventory:
    """The operating system, addresses and updates one inventory record describes."""

    caption: str | None = None  # as Win32_OperatingSystem.Caption: the OS name
    version: str | None = None  # `5.2.3790`
    service_pack: int | None = None
    architecture: str | None = None  # as the tool names it: `X86`, `64-bit`, `AMD64`
    product_type: int | None = None  # as Win32_OperatingSystem.ProductType
    ip_addresses: tuple[str, ...] = ()
    installed_updates: tuple[str, ...] = ()

    @property
    def names_a_system(self) -> bool:
        """True when an operating system was found: a name or a version."""
        return self.caption is not None or self.version is not None


def text(value: object) -> str | None:
    """A non-empty string value of reasonable length, stripped; None for anything else."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    return stripped if 0 < len(stripped) <= MAX_VALUE else None


def version(value: object) -> str | None:
    """A dotted version such as `5.2.3790` at the start of `value`, else None."""
    found = text(value)
    match = _VERSION.match(found) if found else None
    return match[0] if match and "." in match[0] else None


def service_pack(value: object) -> int | None:
    """The number in `Service Pack 2`; 0 for an empty (null) value, which WMI reports for RTM."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    found = text(value)
    match = _SERVICE_PACK.search(found) if found else None
    return int(match[1]) if match else None


def number(value: object) -> int | None:
    """An integer, also one a tool printed as a string (`"2"`); never a bool."""
    if type(value) is int:
        return value
    found = text(value)
    if found and len(found) <= 9 and found.isascii() and found.isdigit():
        return int(found)
    return None


def product_type(value: object) -> int | None:
    """Win32_OperatingSystem.ProductType when `value` is one (1, 2 or 3)."""
    found = number(value)
    return found if found in PRODUCT_TYPES else None


def ip_address(value: object) -> str | None:
    """`value` when it is an IPv4 or IPv6 address, in its canonical spelling."""
    found = text(value)
    # Most list items are updates or adapter names: skip the costly failing parse for them.
    if found is None or found[0] not in _ADDRESS_START or not ("." in found or ":" in found):
        return None
    try:
        return str(ipaddress.ip_address(found))
    except ValueError:
        return None


def update(value: object) -> str | None:
    """`KB885407` for a value naming an update (`KB885407 - Update`, `Q147222`), else None."""
    found = text(value)
    match = _UPDATE.match(found) if found else None
    return f"KB{match[1]}" if match else None


def unique(values: list[str | None]) -> tuple[str, ...]:
    """The values that are not None, each once, in order."""
    return tuple(dict.fromkeys(value for value in values if value is not None))
