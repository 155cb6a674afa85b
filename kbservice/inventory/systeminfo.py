"""Windows `systeminfo` output: the list form and `/fo csv`, English or Japanese labels.

Each line of the list form is `Label:   value`, or an indented `[01]: item` of the hotfix and
network card lists. Labels are localized, so the OS name and version lines are also found
by their values: the version line reads `5.2.3790 <service pack or N/A> <Build> 3790`
in every language, and the OS name is the line printed just before it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

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

# Labels folded by _label(): English, then Japanese Windows.
_NAME_LABELS = frozenset({"os name", "os 名"})
_VERSION_LABELS = frozenset({"os version", "os バージョン"})
_TYPE_LABELS = frozenset({"system type", "システムの種類"})
_CONFIGURATION_LABELS = frozenset({"os configuration", "os 構成"})
# `OS Configuration` values → Win32_OperatingSystem.ProductType; the first word found decides.
_CONFIGURATIONS = (
    ("domain controller", 2),
    ("ドメイン コントローラー", 2),
    ("workstation", 1),
    ("ワークステーション", 1),
    ("server", 3),
    ("サーバー", 3),
    ("サーバ", 3),
)
_BASED = "-based"  # `X86-based PC`, `x64-based PC`, `Itanium (TM) -based System`


@dataclass(frozen=True)
class _Line:
    """A `Label: value` line (or a CSV column): its folded label and its value."""

    label: str
    value: str


def read_systeminfo(data: object) -> Inventory:
    """Read the output of `systeminfo` (list or CSV form) pasted as one string."""
    if not isinstance(data, str):
        raise InventoryError("data", "must be a string: the text systeminfo printed")
    first = next((line.strip() for line in data.splitlines() if line.strip()), "")
    lines, items = _csv(data) if first.startswith('"') else _list(data)
    os_version = _find_version(lines)
    name = _value(lines, _NAME_LABELS)
    if name is None and os_version is not None and os_version > 0:
        name = text(lines[os_version - 1].value)  # printed just before the version
    version_text = lines[os_version].value if os_version is not None else None
    architecture = _value(lines, _TYPE_LABELS) or next(
        (line.value for line in lines if _BASED in line.value.lower()), None
    )
    if architecture is not None and _BASED in architecture.lower():
        architecture = architecture[: architecture.lower().index(_BASED)]
    return Inventory(
        caption=name,
        version=version(version_text),
        service_pack=_service_pack(version_text),
        architecture=text(architecture),
        product_type=_product_type(_value(lines, _CONFIGURATION_LABELS)),
        ip_addresses=unique([ip_address(item) for item in items]),
        installed_updates=unique([update(item) for item in items]),
    )


def _label(label: str) -> str:
    return " ".join(label.casefold().split())


def _split_label(line: str) -> tuple[str, str] | None:
    # Japanese Windows may print a full-width colon; the first colon of either kind ends
    # the label (values such as times hold colons too).
    ends = [end for end in (line.find(":"), line.find("：")) if end > 0]
    if not ends:
        return None
    end = min(ends)
    return line[:end], line[end + 1 :]


def _item(piece: str) -> str | None:
    """The value of a `[01]: value` list item, else None."""
    if not piece.startswith("["):
        return None
    head, separator, value = piece.partition("]:")
    return value.strip() if separator and head[1:].isdigit() else None


def _list(data: str) -> tuple[list[_Line], list[str]]:
    lines: list[_Line] = []
    items: list[str] = []
    for line in data.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        item = _item(stripped)
        if item is not None:
            items.append(item)
        elif not line[0].isspace() and (split := _split_label(stripped)) is not None:
            lines.append(_Line(_label(split[0]), split[1].strip()))
    return lines, items


def _csv(data: str) -> tuple[list[_Line], list[str]]:
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(data)):
            if row:
                rows.append(row)
            if len(rows) == 2:
                break
    except csv.Error:
        pass  # a truncated paste or an oversized field: read what came before it
    if len(rows) == 1:
        rows.insert(0, [""] * len(rows[0]))  # `/nh`: no header line, values only
    if len(rows) < 2:
        return [], []
    header, values = rows
    # A truncated paste may end the row early.
    pairs = zip(header, values, strict=False)
    lines = [_Line(_label(label), value.strip()) for label, value in pairs]
    # The hotfix and network card columns hold their lists joined with commas.
    items = [
        item
        for value in values
        for piece in value.split(",")
        if (item := _item(piece.strip())) is not None
    ]
    return lines, items


def _value(lines: list[_Line], labels: frozenset[str]) -> str | None:
    return next((text(line.value) for line in lines if line.label in labels), None)


def _is_version_line(value: str) -> bool:
    # `5.2.3790 Service Pack 2 Build 3790`: a three-part version, ending in its build number.
    words = value.split()
    if len(words) < 2:
        return False
    parts = words[0].split(".")
    return (
        len(parts) == 3
        and all(p.isascii() and p.isdigit() for p in parts)
        and (words[-1] == parts[2])
    )


def _find_version(lines: list[_Line]) -> int | None:
    """The index of the OS version line: by its label, else by its value."""
    labelled = next((i for i, line in enumerate(lines) if line.label in _VERSION_LABELS), None)
    if labelled is not None:
        return labelled
    return next((i for i, line in enumerate(lines) if _is_version_line(line.value)), None)


def _service_pack(version_text: str | None) -> int | None:
    # After the version comes `Service Pack 2`, or `N/A` (localized) when there is none.
    if version_text is None or len(version_text.split(maxsplit=1)) < 2:
        return None
    found = service_pack(version_text.split(maxsplit=1)[1])
    return 0 if found is None else found


def _product_type(configuration: str | None) -> int | None:
    if configuration is None:
        return None
    folded = configuration.casefold()
    return next((kind for word, kind in _CONFIGURATIONS if word in folded), None)
