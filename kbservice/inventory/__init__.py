"""Inventory tools' output (systeminfo, WMI, Ansible, Salt, osquery) read as system facts."""

from __future__ import annotations

from .model import Inventory, InventoryError
from .reading import FORMATS, detect_format, read_inventory

__all__ = ["FORMATS", "Inventory", "InventoryError", "detect_format", "read_inventory"]
