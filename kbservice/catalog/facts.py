"""Validation and normalization of the SYSTEM facts a client sends, with derived facts."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..inventory import Inventory, InventoryError, read_inventory
from .products import CaptionMatch, Catalog, Product, localized, version_prefix

Errors = dict[str, list[str]]

PRODUCT_NOT_RECOGNISED = "product_not_recognised"
PRODUCT_AMBIGUOUS = "product_ambiguous"
EDITION_NOT_RECOGNISED = "edition_not_recognised"
SOURCE_IGNORED = "source_ignored"
# The source `derived` names for facts read from a SYSTEM's `inventory`.
INVENTORY = "inventory"
# Facts that name the product; when one is sent, the inventory's product is only checked.
_PRODUCT_SOURCES = ("product", "cpe", "os_caption", "os_version")

# The RFC 1918 private ranges, and exactly these: loopback, link-local and 100.64/10 are not NAT.
_PRIVATE_V4 = tuple(
    (int(net.network_address), int(net.netmask))
    for net in map(ipaddress.IPv4Network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
)
# Addresses every host has, which inventory tools report too: they say nothing about NAT.
_HOST_ONLY_V4 = tuple(
    (int(net.network_address), int(net.netmask))
    for net in map(ipaddress.IPv4Network, ("127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/32"))
)
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"  # no leading zeros, as ipaddress insists
_IPV4 = re.compile(r"\.".join([_OCTET] * 4))
_CPE_VALUE = r"((?:[^:\\\s]|\\.)+)"
_CPE = re.compile(r"cpe:2\.3:([aho*-]):" + ":".join([_CPE_VALUE] * 10), re.IGNORECASE)
_CPE_ESCAPE = re.compile(r"\\(.)")
_CPE_SERVICE_PACK = re.compile(r"sp(\d+)")
_CPE_RTM = frozenset({"-", "gold", "rtm"})  # NVD spells Server 2003 RTM `gold`
_CSD_SERVICE_PACK = re.compile(r"service pack (\d+)", re.IGNORECASE)
_KB = re.compile(r"(?:KB\s*)?(\d{1,9})")
_CANONICAL_UPDATES = re.compile(r"KB\d{1,9}(?:,KB\d{1,9})*")
_VERSION = re.compile(r"\d+(?:\.\d+)*")

# Hosts report a few hundred updates and addresses, captions of a few dozen characters.
# Past these limits only the cost grows (validation, every rule reading the fact, the
# echoed answer), so a system over one is invalid, checked before anything else.
MAX_FACTS = 1000
MAX_FACT_ITEMS = 1000
MAX_FACT_LENGTH = 1024


@dataclass(frozen=True)
class FactWarning:
    """Something about the facts worth telling the client that is not an error."""

    code: str
    texts: dict[str, str]

    def text(self, locale: str) -> str:
        """The warning in `locale`."""
        return localized(self.texts, locale)


@dataclass(frozen=True)
class NormalizedSystem:
    """A validated SYSTEM with derived facts filled in and the source of each derived fact."""

    facts: dict[str, object]
    derived: dict[str, str]
    warnings: tuple[FactWarning, ...]

    @property
    def product_recognised(self) -> bool:
        """False when a product was named (or seen in cpe/WMI fields) that the catalog lacks."""
        return all(w.code != PRODUCT_NOT_RECOGNISED for w in self.warnings)


class FactsValidationError(ValueError):
    """Facts of the wrong type or value; `errors` maps each field path to its messages."""

    def __init__(self, errors: Errors) -> None:
        summary = "; ".join(f"{path or 'system'}: {' '.join(m)}" for path, m in errors.items())
        super().__init__(summary)
        self.errors = errors


def normalize_system(raw: object, catalog: Catalog) -> NormalizedSystem:
    """Validate a SYSTEM and derive what its cpe, WMI fields, inventory and addresses imply."""
    if not isinstance(raw, dict):
        # An empty path is the system itself; callers prefix their own (`systems.3`).
        raise FactsValidationError({"": ["must be a JSON object"]})
    errors = _oversized(raw)
    if errors:
        raise FactsValidationError(errors)
    facts = {key: _CHECKS.get(key, _custom)(value, key, errors) for key, value in raw.items()}
    if "architecture" in facts and "architecture" not in errors:
        facts["architecture"] = catalog.architecture_for(_text(facts, "architecture"))
        if facts["architecture"] is None:
            _fail(errors, "architecture", f"must be one of {', '.join(catalog.architecture_ids)}")
    cpe_text = _text(facts, "cpe")
    cpe = _Cpe.parse(cpe_text) if cpe_text is not None else None
    if cpe_text is not None and cpe is None:
        _fail(errors, "cpe", "must be a CPE 2.3 formatted string (cpe:2.3:o:vendor:product:…)")
    inventory = _inventory(raw["inventory"], errors) if "inventory" in raw else None
    if errors:
        raise FactsValidationError(errors)
    return _Derivation(facts, catalog, cpe, inventory).run()


def _inventory(value: object, errors: Errors) -> Inventory | None:
    """The inventory record read, or None with what is wrong recorded under `inventory.…`."""
    try:
        inventory = read_inventory(value)
    except InventoryError as exc:
        _fail(errors, ".".join(filter(None, ("inventory", exc.field))), exc.message)
        return None
    for name in ("ip_addresses", "installed_updates"):
        count = len(getattr(inventory, name))
        if count > MAX_FACT_ITEMS:
            message = f"holds {count} {name}, more than the limit of {MAX_FACT_ITEMS}"
            _fail(errors, "inventory.data", message)
    return inventory


def _oversized(raw: dict[object, object]) -> Errors:
    """What of a system is past MAX_FACTS, MAX_FACT_ITEMS or MAX_FACT_LENGTH, by path."""
    errors: Errors = {}
    if len(raw) > MAX_FACTS:
        _fail(errors, "", f"has {len(raw)} facts, more than the limit of {MAX_FACTS}")
        return errors
    too_long = f"is longer than the limit of {MAX_FACT_LENGTH} characters"
    for key, value in raw.items():
        path = str(key)
        if len(path) > MAX_FACT_LENGTH:
            _fail(errors, "", f"a fact name is longer than {MAX_FACT_LENGTH} characters")
        elif isinstance(value, str) and len(value) > MAX_FACT_LENGTH:
            _fail(errors, path, too_long)
        elif isinstance(value, list) and len(value) > MAX_FACT_ITEMS:
            _fail(errors, path, f"has {len(value)} items, more than the limit of {MAX_FACT_ITEMS}")
        elif isinstance(value, list) and _longest(value) > MAX_FACT_LENGTH:
            for index, item in enumerate(value):
                if isinstance(item, str) and len(item) > MAX_FACT_LENGTH:
                    _fail(errors, f"{path}.{index}", too_long)
    return errors


def _longest(items: list[object]) -> int:
    """An upper bound of the length of the longest string among `items`."""
    try:
        # In C: lists of strings are the usual case (updates, roles, addresses).
        return max(map(len, items), default=0)  # type: ignore[arg-type]
    except TypeError:  # an item without a length (a number, null)
        return max((len(item) for item in items if isinstance(item, str)), default=0)


# Checks: each returns the canonical value and records what is wrong under `path`.
Check = Callable[[object, str, Errors], object]


def _fail(errors: Errors, path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def _identifier(value: object, path: str, errors: Errors) -> object:
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    _fail(errors, path, "must be a non-empty string")
    return value


def _service_pack(value: object, path: str, errors: Errors) -> object:
    # type() rather than isinstance(): True is an int too, and must not pass as SP1.
    if type(value) is not int or value < 0:
        _fail(errors, path, "must be an integer greater than or equal to 0")
    return value


def _boolean(value: object, path: str, errors: Errors) -> object:
    if not isinstance(value, bool):
        _fail(errors, path, "must be a boolean")
    return value


def _list_of(item: Callable[[object], object | None], message: str) -> Check:
    # `item` returns the canonical item, or None when it is invalid.
    def check(value: object, path: str, errors: Errors) -> object:
        if not isinstance(value, list):
            _fail(errors, path, "must be a list")
            return value
        result = [item(element) for element in value]
        if None in result:
            for index, canonical in enumerate(result):
                if canonical is None:
                    _fail(errors, f"{path}.{index}", message)
        # Hosts report hundreds of updates: drop repeats in linear time, keeping order.
        return list(dict.fromkeys(result))

    return check


def _role(value: object) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _ip_address(value: object) -> str | None:
    if isinstance(value, str) and (_ipv4_number(value) is not None or _is_ipv6(value)):
        return value
    return None


def _update(value: object) -> str | None:
    match = _KB.fullmatch(value.strip().upper()) if isinstance(value, str) else None
    return f"KB{match[1]}" if match else None


_each_update = _list_of(_update, "must be a KB number such as KB885407")


def _installed_updates(value: object, path: str, errors: Errors) -> object:
    # Hosts report hundreds of updates, nearly always as KBnnnnnn already: check such a list
    # with one regex over it joined (the comma count rules out an item holding a comma).
    if isinstance(value, list):
        try:
            joined = ",".join(value)
        except TypeError:  # an item that is not a string
            joined = ""
        if _CANONICAL_UPDATES.fullmatch(joined) and joined.count(",") == len(value) - 1:
            return list(dict.fromkeys(value))
    return _each_update(value, path, errors)


def _string(value: object, path: str, errors: Errors) -> object:
    if not isinstance(value, str):
        _fail(errors, path, "must be a string")
    return value


def _wmi_text(value: object, path: str, errors: Errors) -> object:
    # WMI reports an absent property as null (e.g. CSDVersion before any service pack).
    if value is not None and not isinstance(value, str):
        _fail(errors, path, "must be a string or null")
    return value


def _os_version(value: object, path: str, errors: Errors) -> object:
    if value is not None and not (isinstance(value, str) and _VERSION.fullmatch(value)):
        _fail(errors, path, "must be a version such as 5.2.3790")
    return value


def _as_sent(value: object, path: str, errors: Errors) -> object:
    # Checked where it is read (_inventory), and echoed unchanged.
    return value


def _os_product_type(value: object, path: str, errors: Errors) -> object:
    if value is not None and (type(value) is not int or value not in (1, 2, 3)):
        _fail(errors, path, "must be 1 (workstation), 2 (domain controller) or 3 (server)")
    return value


def _scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


# Item types of a custom list that need no check one by one (bool is an int).
_PLAIN_ITEMS = frozenset({str, int, bool, type(None)})


def _custom(value: object, path: str, errors: Errors) -> object:
    if isinstance(value, list):
        # Type by type in C first: a list of hundreds of strings is checked in one pass.
        if set(map(type, value)) <= _PLAIN_ITEMS:
            return value
        for index, element in enumerate(value):
            if not _scalar(element):
                _fail(errors, f"{path}.{index}", "must be a string, finite number, boolean or null")
    elif not _scalar(value):
        _fail(errors, path, "must be a string, finite number, boolean, null or a list of them")
    return value


_CHECKS: dict[str, Check] = {
    "product": _identifier,
    "edition": _identifier,
    "architecture": _identifier,
    "service_pack": _service_pack,
    "roles": _list_of(_role, "must be a non-empty string"),
    "behind_nat": _boolean,
    "ip_addresses": _list_of(_ip_address, "must be an IPv4 or IPv6 address"),
    "installed_updates": _installed_updates,
    "cpe": _string,
    "os_caption": _wmi_text,
    "os_version": _os_version,
    "csd_version": _wmi_text,
    "os_architecture": _wmi_text,
    "os_product_type": _os_product_type,
    "inventory": _as_sent,
}


def _ipv4_number(value: str) -> int | None:
    # A regex instead of ipaddress: a batch parses thousands of addresses.
    match = _IPV4.fullmatch(value)
    if match is None:
        return None
    a, b, c, d = map(int, match.groups())
    return a << 24 | b << 16 | c << 8 | d


def _is_ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _is_private_v4(number: int) -> bool:
    return any(number & mask == network for network, mask in _PRIVATE_V4)


def _is_host_only_v4(number: int) -> bool:
    return any(number & mask == network for network, mask in _HOST_ONLY_V4)


@dataclass(frozen=True)
class _Cpe:
    """The slots of a CPE 2.3 name this module reads; None is ANY (`*`)."""

    part: str
    vendor: str | None
    product: str | None
    update: str | None
    edition: str | None
    sw_edition: str | None
    target_hw: str | None

    @classmethod
    def parse(cls, text: str) -> _Cpe | None:
        """Split a CPE 2.3 formatted string into its slots; None if it is not one."""
        match = _CPE.fullmatch(text)
        if match is None:
            return None
        slots = [None if value == "*" else _unescape(value).lower() for value in match.groups()]
        part, vendor, product, _version, update, edition, _lang, sw_edition, _sw, hw, _ = slots
        return cls(part or "*", vendor, product, update, edition, sw_edition, hw)

    def service_pack(self) -> int | None:
        """The service pack the update slot names (`sp2`, or RTM as `-`, `gold`, `rtm`)."""
        if self.update in _CPE_RTM:
            return 0
        match = _CPE_SERVICE_PACK.fullmatch(self.update or "")
        return int(match[1]) if match else None


def _unescape(value: str) -> str:
    return _CPE_ESCAPE.sub(r"\1", value) if "\\" in value else value


def _csd_service_pack(csd: object) -> int | None:
    # WMI reports CSDVersion as null (or empty) when no service pack is installed.
    if not csd:
        return 0
    match = _CSD_SERVICE_PACK.search(csd) if isinstance(csd, str) else None
    return int(match[1]) if match else None


def _text(facts: dict[str, object], key: str) -> str | None:
    value = facts.get(key)
    return value if isinstance(value, str) else None


def _names_product(facts: dict[str, object]) -> bool:
    return any(name in facts for name in _PRODUCT_SOURCES)


def _warning(code: str, en: str, ja: str) -> FactWarning:
    return FactWarning(code, {"en": en, "ja": ja})


class _Derivation:
    """Fills in derived facts; given facts, then earlier sources, win."""

    def __init__(
        self,
        facts: dict[str, object],
        catalog: Catalog,
        cpe: _Cpe | None,
        inventory: Inventory | None = None,
    ) -> None:
        self.facts = facts
        self.catalog = catalog
        self.cpe = cpe
        self.inventory = inventory
        self.derived: dict[str, str] = {}
        self.warnings: list[FactWarning] = []

    def run(self) -> NormalizedSystem:
        """Derive every fact the input allows and return the normalized system."""
        catalog, cpe = self.catalog, self.cpe
        caption_text = _text(self.facts, "os_caption")
        caption = catalog.match_caption(caption_text) if caption_text is not None else None
        cpe_products = self._cpe_products(cpe) if cpe is not None else None
        product = self._product(cpe_products, caption)
        # What the inventory says, read as its WMI fields would be on their own.
        inventory = self.inventory
        read = self._read_inventory(inventory) if inventory is not None else None
        if inventory is not None and read is not None and not _names_product(self.facts):
            product = self._inventory_product(read, inventory.caption or inventory.version)
        if product is not None:
            self._edition_given(product)
            if cpe is not None and self._describes(product, "cpe", cpe_products or ()):
                self.put("service_pack", cpe.service_pack(), "cpe")
                self.put("edition", catalog.edition_for(product, cpe.sw_edition), "cpe")
                self.put("edition", catalog.edition_for(product, cpe.edition), "cpe")
                self.put("architecture", catalog.architecture_for(cpe.target_hw), "cpe")
                self.put("architecture", catalog.architecture_for(cpe.edition), "cpe")
            if caption_text is not None and not self._describes(
                product, "os_caption", (caption.product,) if caption else ()
            ):
                caption = None
            self.put("edition", caption.edition if caption else None, "os_caption")
        self._wmi(product, caption if product is not None else None)
        if read is not None and inventory is not None:
            self._from_inventory(product, read, inventory)
        self._behind_nat()
        return NormalizedSystem(self.facts, self.derived, tuple(self.warnings))

    def put(self, name: str, value: object, source: str) -> None:
        """Record a derived fact unless the fact is already known."""
        if value is not None and name not in self.facts:
            self.facts[name] = value
            self.derived[name] = source

    def _cpe_products(self, cpe: _Cpe) -> tuple[Product, ...]:
        if cpe.vendor is None or cpe.product is None:
            return ()
        hints = (cpe.sw_edition, cpe.edition)
        return self.catalog.products_for_cpe(cpe.part, cpe.vendor, cpe.product, hints)

    def _product(
        self, cpe_products: tuple[Product, ...] | None, caption: CaptionMatch | None
    ) -> Product | None:
        facts = self.facts
        given = _text(facts, "product")
        if given is not None:
            product = self.catalog.get(given)
            if product is None:
                self._not_recognised(
                    f"Product '{given}' is not recognised; no article applies.",
                    f"製品 '{given}' は認識できません。適用される資料はありません。",
                )
            return product
        sources: list[tuple[str, tuple[Product, ...]]] = []
        if cpe_products is not None:
            sources.append(("cpe", cpe_products))
        if _text(facts, "os_caption") is not None:
            sources.append(("os_caption", (caption.product,) if caption else ()))
        version = _text(facts, "os_version")
        if version is not None:
            product_type = facts.get("os_product_type")
            sources.append(
                (
                    "os_version",
                    self.catalog.products_for_version(
                        version, product_type if isinstance(product_type, int) else None
                    ),
                )
            )
        for source, candidates in sources:
            if len(candidates) == 1:
                self.put("product", candidates[0].id, source)
                return candidates[0]
        ambiguous = [(s, c) for s, c in sources if c]
        if ambiguous:
            source, candidates = ambiguous[0]
            ids = ", ".join(p.id for p in candidates)
            self.warnings.append(
                _warning(
                    PRODUCT_AMBIGUOUS,
                    f"{source} '{facts[source]}' fits several products ({ids}); "
                    "send product to say which.",
                    f"{source} '{facts[source]}' は複数の製品 ({ids}) に該当します。"
                    "product で製品を指定してください。",
                )
            )
        elif sources:
            source = sources[0][0]
            self._not_recognised(
                f"No known product matches {source} '{facts[source]}'; no article applies.",
                f"{source} '{facts[source]}' に一致する既知の製品はありません。"
                "適用される資料はありません。",
            )
        return None

    def _not_recognised(self, en: str, ja: str) -> None:
        self.warnings.append(_warning(PRODUCT_NOT_RECOGNISED, en, ja))

    def _edition_given(self, product: Product) -> None:
        given = _text(self.facts, "edition")
        if given is None:
            return
        edition = self.catalog.edition_for(product, given)
        if edition is not None:
            self.facts["edition"] = edition
            return
        self.warnings.append(
            _warning(
                EDITION_NOT_RECOGNISED,
                f"Edition '{given}' is not an edition of {product.id}.",
                f"エディション '{given}' は {product.id} のエディションではありません。",
            )
        )

    def _describes(self, product: Product, source: str, named: tuple[Product, ...]) -> bool:
        # A cpe or caption of another product says nothing about this system's edition or SP.
        if any(p.id == product.id for p in named):
            return True
        self.warnings.append(
            _warning(
                SOURCE_IGNORED,
                f"{source} does not describe {product.id}; its facts were not used.",
                f"{source} は {product.id} を示していないため、その情報は使用しませんでした。",
            )
        )
        return False

    def _wmi(self, product: Product | None, caption: CaptionMatch | None) -> None:
        facts = self.facts
        if "csd_version" in facts:
            self.put("service_pack", _csd_service_pack(facts["csd_version"]), "csd_version")
        architecture = self.catalog.architecture_for(_text(facts, "os_architecture"))
        self.put("architecture", architecture, "os_architecture")
        self.put("architecture", caption.architecture if caption else None, "os_caption")
        version = _text(facts, "os_version")
        if version is not None:
            prefix = version_prefix(version)
            self.put("product_version", prefix, "os_version")
            if product is not None:
                # e.g. XP on NT 5.2 is XP Professional x64 Edition
                self.put("architecture", product.version_architectures.get(prefix), "os_version")

    def _read_inventory(self, inventory: Inventory) -> NormalizedSystem:
        wmi_fields = {
            "os_caption": inventory.caption,
            "os_version": inventory.version,
            "os_architecture": inventory.architecture,
            "os_product_type": inventory.product_type,
            "service_pack": inventory.service_pack,
        }
        known = {name: value for name, value in wmi_fields.items() if value is not None}
        return _Derivation(known, self.catalog, None).run()

    def _inventory_product(self, read: NormalizedSystem, name: str | None) -> Product | None:
        product = self.catalog.get(_text(read.facts, "product") or "")
        if product is not None:
            self.put("product", product.id, INVENTORY)
            return product
        if any(w.code == PRODUCT_AMBIGUOUS for w in read.warnings):
            self.warnings.append(
                _warning(
                    PRODUCT_AMBIGUOUS,
                    f"The operating system in inventory ('{name}') fits several products; "
                    "send product to say which.",
                    f"inventory のオペレーティング システム ('{name}') は複数の製品に該当します。"
                    "product で製品を指定してください。",
                )
            )
        else:
            self._not_recognised(
                f"No known product matches the operating system in inventory ('{name}'); "
                "no article applies.",
                f"inventory のオペレーティング システム ('{name}') に一致する既知の製品は"
                "ありません。適用される資料はありません。",
            )
        return None

    def _from_inventory(
        self, product: Product | None, read: NormalizedSystem, inventory: Inventory
    ) -> None:
        named = self.catalog.get(_text(read.facts, "product") or "")
        if (
            product is not None
            and named is not None
            and self._describes(product, INVENTORY, (named,))
        ):
            for name in ("edition", "architecture", "service_pack", "product_version"):
                self.put(name, read.facts.get(name), INVENTORY)
        if inventory.ip_addresses:
            self.put("ip_addresses", list(inventory.ip_addresses), INVENTORY)
        if inventory.installed_updates:
            self.put("installed_updates", list(inventory.installed_updates), INVENTORY)

    def _behind_nat(self) -> None:
        addresses = self.facts.get("ip_addresses")
        if "behind_nat" in self.facts or not isinstance(addresses, list):
            return
        ipv4 = [
            n for n in map(_ipv4_number, addresses) if n is not None and not _is_host_only_v4(n)
        ]
        if ipv4:
            self.put("behind_nat", all(map(_is_private_v4, ipv4)), "ip_addresses")
