"""Facts of Ansible's `setup` module on Windows (`ansible_os_name`, `ansible_ip_addresses` …)."""

from __future__ import annotations

from typing import Any

from .model import Inventory, InventoryError, ip_address, number, text, unique, version

# ansible_os_product_type → Win32_OperatingSystem.ProductType.
_PRODUCT_TYPES = {"workstation": 1, "domain_controller": 2, "server": 3}


def read_ansible(data: object) -> Inventory:
    """Read `{"ansible_facts": {…}}` or the facts object itself."""
    if not isinstance(data, dict):
        raise InventoryError("data", "must be a JSON object: the setup module's ansible_facts")
    inner = data.get("ansible_facts")
    facts: dict[str, Any] = inner if isinstance(inner, dict) else data

    def fact(name: str) -> Any:
        # Inside a play the facts lose their `ansible_` prefix (ansible_facts['os_name']).
        return facts.get(f"ansible_{name}", facts.get(name))

    full_version = text(fact("distribution_version"))
    addresses = fact("ip_addresses")
    product_type = text(fact("os_product_type"))
    return Inventory(
        caption=text(fact("os_name")) or text(fact("distribution")),
        version=version(".".join(full_version.split(".")[:3]) if full_version else None),
        service_pack=_service_pack(full_version),
        architecture=text(fact("architecture")) or text(fact("architecture2")),
        product_type=_PRODUCT_TYPES.get(product_type.lower()) if product_type else None,
        ip_addresses=unique(
            [ip_address(a) for a in addresses] if isinstance(addresses, list) else []
        ),
    )


def _service_pack(full_version: str | None) -> int | None:
    # [Environment]::OSVersion.Version: the fourth component is the service pack as .NET
    # encodes it, major × 65536 + minor (5.2.3790.131072 is Service Pack 2).
    parts = full_version.split(".") if full_version else []
    revision = number(parts[3]) if len(parts) == 4 else None
    return revision >> 16 if revision is not None else None
