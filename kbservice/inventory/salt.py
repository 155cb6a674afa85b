"""Salt grains as `salt-call --out=json grains.items` prints them."""

from __future__ import annotations

from typing import Any

from .model import Inventory, InventoryError, ip_address, service_pack, text, unique, version


def read_salt(data: object) -> Inventory:
    """Read `{"local": {…}}` (or `{"<minion id>": {…}}`) or the grains object itself."""
    if not isinstance(data, dict):
        raise InventoryError("data", "must be a JSON object: the grains")
    grains: dict[str, Any] = data
    if len(data) == 1:
        # salt-call answers under `local`, the salt command under the minion's id.
        (inner,) = data.values()
        if isinstance(inner, dict):
            grains = inner
    addresses = [
        ip_address(address)
        for key in ("ipv4", "ipv6")
        if isinstance(grains.get(key), list)
        for address in grains[key]
    ]
    return Inventory(
        caption=text(grains.get("osfullname")),
        version=version(grains.get("osversion")),
        # osservicepack is null without a service pack; a grain not sent says nothing.
        service_pack=service_pack(grains["osservicepack"]) if "osservicepack" in grains else None,
        architecture=text(grains.get("cpuarch")),
        ip_addresses=unique(addresses),
    )
