"""The product catalog: products, editions, lifecycle dates and the aliases that recognise them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ..errors import ValidationFailed

LOCALES = ("en", "ja")
DEFAULT_LOCALE = "en"
KINDS = frozenset({"workstation", "server"})
# Win32_OperatingSystem.ProductType: 1 workstation, 2 domain controller, 3 server.
PRODUCT_TYPE_KINDS: Mapping[int, str] = {1: "workstation", 2: "server", 3: "server"}

_MARKS = re.compile(r"\((?:r|tm)\)|[®™]")
_SEPARATORS = re.compile(r"[\W_]+")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DATE_FORMATS: Mapping[str, Callable[[date], str]] = {
    "en": lambda day: f"{_MONTHS[day.month - 1]} {day.day}, {day.year}",
    "ja": lambda day: f"{day.year} 年 {day.month} 月 {day.day} 日",
}
_SUPPORT_ENDED = {
    "en": "Support for {name} ended on {date}.",
    # The banner shape of Microsoft's Japanese articles, kept without a final stop.
    "ja": "{name} のサポートは {date}で終了しています",
}
_NOTICE_TEMPLATES: Mapping[str, Mapping[str, str]] = {
    "end_of_support": _SUPPORT_ENDED,
    "service_pack_end_of_support": _SUPPORT_ENDED,
    "end_of_mainstream_support": {
        "en": "Mainstream support for {name} ended on {date}; extended support ends on {extended}.",
        "ja": "{name} のメインストリーム サポートは {date}で終了しました。"
        "延長サポートは {extended}に終了します。",
    },
}


# How many labels (product, edition, architecture, locale) and notices (product, day)
# a catalog keeps made: more than a corpus's applies-to entries name, but bounded.
_KEPT = 4096


class CatalogError(ValueError):
    """The catalog data is malformed."""


def alias_key(text: str) -> str:
    """Fold a name, caption or CPE value to the lowercase words aliases are compared as."""
    return _SEPARATORS.sub(" ", _MARKS.sub(" ", text.lower())).strip()


def version_prefix(version: str) -> str:
    """The `major.minor` of a Windows version such as `5.2.3790`."""
    return ".".join(version.split(".")[:2])


def localized(texts: Mapping[str, str], locale: str) -> str:
    """The text for `locale` (or its language), else the default locale's."""
    return texts.get(locale) or texts.get(locale.split("-")[0]) or texts[DEFAULT_LOCALE]


@dataclass(frozen=True)
class Notice:
    """A generated notice, e.g. that a product's support has ended."""

    kind: str
    texts: dict[str, str]
    date: date

    def text(self, locale: str) -> str:
        """The notice in `locale`."""
        return localized(self.texts, locale)


@dataclass(frozen=True)
class Edition:
    """An edition of a product, with the words that name it in captions and CPE values."""

    id: str
    names: dict[str, str]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Architecture:
    """A processor architecture and the values that name it."""

    id: str
    names: dict[str, str]
    aliases: tuple[str, ...] = ()  # whole values: CPE target_hw / edition, OSArchitecture
    caption_aliases: tuple[str, ...] = ()  # words within a WMI Caption
    caption_default: bool = False  # assumed when a Caption names no architecture


@dataclass(frozen=True)
class ServicePack:
    """A service pack level; 0 is the original release (RTM)."""

    number: int
    name: str
    end_of_support: date | None


@dataclass(frozen=True)
class Product:
    """A catalog product with its lifecycle and recognition aliases."""

    id: str
    names: dict[str, str]
    short_names: dict[str, str]
    version: str
    kind: str
    editions: tuple[Edition, ...]
    architecture_details: tuple[Architecture, ...]
    service_packs: tuple[ServicePack, ...]
    mainstream_end: date
    extended_end: date
    cpe: tuple[str, ...] = ()  # CPE 2.3 prefixes `cpe:2.3:part:vendor:product`
    captions: tuple[str, ...] = ()  # phrases within a WMI Caption
    wmi_versions: tuple[str, ...] = ()  # `major.minor` of Win32_OperatingSystem.Version
    version_architectures: dict[str, str] = field(default_factory=dict)  # `major.minor` → id

    @property
    def architectures(self) -> tuple[str, ...]:
        """Architecture ids, in catalog order."""
        return tuple(arch.id for arch in self.architecture_details)

    def edition(self, edition_id: str) -> Edition | None:
        """The edition with this id, if the product has it."""
        return next((e for e in self.editions if e.id == edition_id), None)

    def architecture(self, architecture_id: str) -> Architecture | None:
        """The architecture with this id, if the product exists for it."""
        return next((a for a in self.architecture_details if a.id == architecture_id), None)

    def service_pack(self, number: int) -> ServicePack | None:
        """The service pack with this number, if it exists."""
        return next((sp for sp in self.service_packs if sp.number == number), None)

    def label(
        self,
        edition: str | None = None,
        architecture: str | None = None,
        locale: str = DEFAULT_LOCALE,
    ) -> str:
        """Display label, e.g. `Microsoft Windows Server 2003, Enterprise Edition (32-bit x86)`."""
        # Display only: an id the catalog lacks is shown as given rather than failing a page.
        known_edition = self.edition(edition) if edition else None
        if known_edition is not None:
            text = localized(known_edition.names, locale)
        else:
            text = localized(self.names, locale) + (f" {edition}" if edition else "")
        if not architecture:
            return text
        known_arch = self.architecture(architecture)
        arch_name = localized(known_arch.names, locale) if known_arch else architecture
        return f"{text} ({arch_name})"

    def lifecycle_notices(self, today: date, service_pack: int | None = None) -> list[Notice]:
        """Notices of support that has ended as of `today`, for the product or its service pack."""
        if today > self.extended_end:
            # The product's end of support covers every service pack and the mainstream phase.
            return [self._notice("end_of_support", self.extended_end)]
        notices = []
        level = self.service_pack(service_pack) if service_pack is not None else None
        if level is not None and level.end_of_support is not None and today > level.end_of_support:
            notices.append(
                self._notice("service_pack_end_of_support", level.end_of_support, level.name)
            )
        if today > self.mainstream_end:
            notices.append(self._notice("end_of_mainstream_support", self.mainstream_end))
        return notices

    def _notice(self, kind: str, day: date, subject: str = "") -> Notice:
        texts = {
            locale: _NOTICE_TEMPLATES[kind][locale].format(
                name=" ".join(filter(None, (self.short_names[locale], subject))),
                date=fmt(day),
                extended=fmt(self.extended_end),
            )
            for locale, fmt in _DATE_FORMATS.items()
        }
        return Notice(kind, texts, day)


def _keep(made: dict[Any, Any], key: Any, value: Any) -> None:
    # Emptied when full: the entries in use are made again, a few at a time.
    if len(made) >= _KEPT:
        made.clear()
    made[key] = value


@dataclass(frozen=True)
class CaptionMatch:
    """What a WMI Caption says: the product and, when it names them, edition and architecture."""

    product: Product
    edition: str | None
    architecture: str | None


class Catalog:
    """All products, with alias lookups compiled once for fast recognition."""

    def __init__(self, products: Iterable[Product]) -> None:
        self._products = tuple(products)
        self._by_id: dict[str, Product] = {}
        self._by_cpe: dict[tuple[str, str, str], tuple[Product, ...]] = {}
        self._by_version: dict[str, tuple[Product, ...]] = {}
        self._captions: list[tuple[str, str]] = []
        self._editions: dict[str, dict[str, str]] = {}
        self._edition_phrases: dict[str, list[tuple[str, str]]] = {}
        self._architectures: dict[str, Architecture] = {}
        self._arch_aliases: dict[str, str] = {}
        self._arch_phrases: list[tuple[str, str]] = []
        for product in self._products:
            self._index(product)
        # Every article body shows labels and notices and the catalog never changes, so
        # each is made once. Plain dicts: a lock costs as much as making a label again.
        self._labels: dict[tuple[str, str | None, str | None, str], str] = {}
        self._notices: dict[tuple[str, date], tuple[Notice, ...]] = {}

    @classmethod
    def from_dicts(cls, products: Sequence[Mapping[str, Any]]) -> Catalog:
        """Build the catalog from the `products` list of seeds/products.yaml (dates or ISO text)."""
        if not isinstance(products, Sequence) or isinstance(products, str):
            raise CatalogError("products: expected a list")
        return cls(_product(entry, f"products[{i}]") for i, entry in enumerate(products))

    @property
    def products(self) -> tuple[Product, ...]:
        """Every product, in catalog order."""
        return self._products

    @property
    def architecture_ids(self) -> tuple[str, ...]:
        """Every architecture id, sorted."""
        return tuple(sorted(self._architectures))

    def get(self, product_id: str) -> Product | None:
        """The product with this id, if any."""
        return self._by_id.get(product_id)

    def label(
        self, product_id: str, edition: str | None, architecture: str | None, locale: str
    ) -> str:
        """`Product.label` of the product with this id (the id itself if there is none)."""
        key = (product_id, edition, architecture, locale)
        label = self._labels.get(key)
        if label is None:
            product = self._by_id.get(product_id)
            label = product_id if product is None else product.label(edition, architecture, locale)
            _keep(self._labels, key, label)
        return label

    def notices(self, product_id: str, today: date) -> tuple[Notice, ...]:
        """`Product.lifecycle_notices(today)` of the product with this id (none without one)."""
        key = (product_id, today)
        notices = self._notices.get(key)
        if notices is None:
            product = self._by_id.get(product_id)
            notices = () if product is None else tuple(product.lifecycle_notices(today))
            _keep(self._notices, key, notices)
        return notices

    def architecture_for(self, value: str | None) -> str | None:
        """The architecture id a value such as `AMD64`, `64-bit` or `itanium` names."""
        return _lookup(self._arch_aliases, value)

    def edition_for(self, product: Product, value: str | None) -> str | None:
        """The id of `product`'s edition a value such as `Enterprise` or `advanced_server` names."""
        return _lookup(self._editions[product.id], value)

    def products_for_cpe(
        self, part: str, vendor: str, name: str, edition_hints: Iterable[str | None] = ()
    ) -> tuple[Product, ...]:
        """Products a CPE names; edition values narrow a name shared by several products."""
        candidates = self._by_cpe.get((part, vendor, name), ())
        if len(candidates) > 1:
            hints = [h for h in edition_hints if h]
            narrowed = tuple(p for p in candidates if any(self.edition_for(p, h) for h in hints))
            return narrowed or candidates
        return candidates

    def products_for_version(self, version: str, product_type: int | None) -> tuple[Product, ...]:
        """Products whose WMI Version (`5.2.3790`) and ProductType fit."""
        candidates = self._by_version.get(version_prefix(version), ())
        kind = PRODUCT_TYPE_KINDS.get(product_type) if product_type is not None else None
        return tuple(p for p in candidates if p.kind == kind) if kind else candidates

    def match_caption(self, caption: str) -> CaptionMatch | None:
        """Recognise a WMI Caption such as `Microsoft Windows Server 2003 Enterprise Edition`."""
        text = f" {alias_key(caption)} "
        product_id = _longest_match(self._captions, text)
        if product_id is None:
            return None
        product = self._by_id[product_id]
        named = {arch for phrase, arch in self._arch_phrases if phrase in text}
        named &= set(product.architectures)
        if not named:
            defaults = [a.id for a in product.architecture_details if a.caption_default]
            named = set(defaults[:1])
        return CaptionMatch(
            product,
            _longest_match(self._edition_phrases[product.id], text),
            named.pop() if len(named) == 1 else None,
        )

    def _index(self, product: Product) -> None:
        if product.id in self._by_id:
            raise CatalogError(f"product {product.id}: duplicate id")
        self._by_id[product.id] = product
        editions: dict[str, str] = {}
        for edition in product.editions:
            for alias in (edition.id, *edition.aliases):
                _claim(editions, alias_key(alias), edition.id, f"product {product.id} edition")
        self._editions[product.id] = editions
        self._edition_phrases[product.id] = [(f" {key} ", eid) for key, eid in editions.items()]
        for arch in product.architecture_details:
            known = self._architectures.setdefault(arch.id, arch)
            if known != arch:
                raise CatalogError(f"architecture {arch.id}: defined differently by {product.id}")
            if known is arch:
                for alias in (arch.id, *arch.aliases):
                    _claim(self._arch_aliases, alias_key(alias), arch.id, "architecture")
                self._arch_phrases += [(f" {alias_key(a)} ", arch.id) for a in arch.caption_aliases]
        for prefix in product.cpe:
            key = _cpe_key(prefix, product.id)
            self._by_cpe[key] = (*self._by_cpe.get(key, ()), product)
        for version in product.wmi_versions:
            self._by_version[version] = (*self._by_version.get(version, ()), product)
        for version, arch_id in product.version_architectures.items():
            if version not in product.wmi_versions or arch_id not in product.architectures:
                raise CatalogError(
                    f"product {product.id}: wmi_version_architectures {version}: {arch_id} is not"
                    " one of its wmi_versions and architectures"
                )
        self._captions += [(f" {alias_key(c)} ", product.id) for c in product.captions]


def applies_to_errors(
    entries: Iterable[Mapping[str, Any]], catalog: Catalog, prefix: str = "applies_to"
) -> dict[str, list[str]]:
    """Problems of well-formed applies-to entries by path: unknown products, editions …."""
    errors: dict[str, list[str]] = {}
    for position, entry in enumerate(entries):
        product = catalog.get(entry["product"])
        path = f"{prefix}.{position}"
        if product is None:
            errors[f"{path}.product"] = [f"unknown product {entry['product']!r}"]
            continue
        edition = entry.get("edition")
        if edition is not None and product.edition(edition) is None:
            errors[f"{path}.edition"] = [f"{product.id} has no edition {edition!r}"]
        architecture = entry.get("architecture")
        if architecture is not None and architecture not in product.architectures:
            errors[f"{path}.architecture"] = [f"{product.id} has no architecture {architecture!r}"]
        low, high = entry.get("service_pack_min"), entry.get("service_pack_max")
        if low is not None and high is not None and low > high:
            errors[f"{path}.service_pack_min"] = ["must not exceed service_pack_max"]
    return errors


def check_applies_to(entries: Iterable[Mapping[str, Any]] | None, catalog: Catalog) -> None:
    """Every applies-to entry must name a catalog product, edition and architecture."""
    errors = applies_to_errors(entries or (), catalog)
    if errors:
        raise ValidationFailed("The applies-to list is invalid.", errors=errors)


def load_catalog_file(path: str | Path) -> Catalog:
    """Load the catalog from a YAML file shaped like seeds/products.yaml."""
    with Path(path).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, Mapping):
        raise CatalogError(f"{path}: expected a mapping with a products list")
    return Catalog.from_dicts(data.get("products"))


def _lookup(table: Mapping[str, str], value: str | None) -> str | None:
    # Canonical ids hit directly; anything else is folded first.
    if not value:
        return None
    return table.get(value) or table.get(alias_key(value))


def _longest_match(phrases: Iterable[tuple[str, str]], text: str) -> str | None:
    # The longest phrase found decides ("advanced server" over "server"); a tie is no answer.
    best, found = 0, set()
    for phrase, value in phrases:
        if len(phrase) >= best and phrase in text:
            if len(phrase) > best:
                best, found = len(phrase), set()
            found.add(value)
    return found.pop() if len(found) == 1 else None


def _claim(table: dict[str, str], key: str, value: str, where: str) -> None:
    if table.setdefault(key, value) != value:
        raise CatalogError(f"{where}: alias {key!r} names both {table[key]} and {value}")


def _cpe_key(prefix: str, where: str) -> tuple[str, str, str]:
    parts = prefix.lower().split(":")
    if len(parts) != 5 or parts[:2] != ["cpe", "2.3"]:
        raise CatalogError(
            f"product {where}: cpe alias {prefix!r} is not cpe:2.3:part:vendor:product"
        )
    return parts[2], parts[3], parts[4]


# Parsing of the dict shape; errors name the offending path.


def _product(data: object, where: str) -> Product:
    entry = _mapping(data, where)
    aliases = _mapping(entry.get("aliases", {}), f"{where}.aliases")
    kind = _get(entry, "kind", str, where)
    if kind not in KINDS:
        raise CatalogError(f"{where}.kind: expected one of {sorted(KINDS)}, got {kind!r}")
    return Product(
        id=_get(entry, "id", str, where),
        names=_texts(entry, "names", where),
        short_names=_texts(entry, "short_names", where),
        version=_get(entry, "version", str, where),
        kind=kind,
        editions=tuple(
            Edition(
                id=_get(e, "id", str, w),
                names=_texts(e, "names", w),
                aliases=_strings(e, "aliases", w),
            )
            for w, e in _items(entry, "editions", where)
        ),
        architecture_details=tuple(
            Architecture(
                id=_get(a, "id", str, w),
                names=_texts(a, "names", w),
                aliases=_strings(a, "aliases", w),
                caption_aliases=_strings(a, "caption_aliases", w),
                caption_default=_get(a, "caption_default", bool, w, False),
            )
            for w, a in _items(entry, "architectures", where)
        ),
        service_packs=tuple(
            ServicePack(
                number=_get(sp, "number", int, w),
                name=_get(sp, "name", str, w),
                end_of_support=(
                    None if sp.get("end_of_support") is None else _date(sp, "end_of_support", w)
                ),
            )
            for w, sp in _items(entry, "service_packs", where)
        ),
        mainstream_end=_date(entry, "mainstream_end", where),
        extended_end=_date(entry, "extended_end", where),
        cpe=_strings(aliases, "cpe", f"{where}.aliases"),
        captions=_strings(aliases, "captions", f"{where}.aliases"),
        wmi_versions=_strings(aliases, "wmi_versions", f"{where}.aliases"),
        version_architectures=_string_map(aliases, "wmi_version_architectures", f"{where}.aliases"),
    )


_MISSING: Any = object()


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: expected a mapping, got {value!r}")
    return value


def _get(data: Mapping[str, Any], key: str, kind: type, where: str, default: Any = _MISSING) -> Any:
    value = data.get(key, default)
    # bool is an int subclass, so a YAML `true` must not pass as a number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CatalogError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _items(data: Mapping[str, Any], key: str, where: str) -> list[tuple[str, Mapping[str, Any]]]:
    values = _get(data, key, list, where)
    return [
        (f"{where}.{key}[{i}]", _mapping(v, f"{where}.{key}[{i}]")) for i, v in enumerate(values)
    ]


def _strings(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _get(data, key, list, where, [])
    if not all(isinstance(v, str) and v for v in values):
        raise CatalogError(f"{where}.{key}: expected a list of non-empty strings")
    return tuple(values)


def _string_map(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    values = _mapping(data.get(key, {}), f"{where}.{key}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise CatalogError(f"{where}.{key}: expected a mapping of strings")
    return dict(values)


def _texts(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    texts = _mapping(data.get(key), f"{where}.{key}")
    if not all(isinstance(texts.get(locale), str) and texts[locale] for locale in LOCALES):
        raise CatalogError(f"{where}.{key}: expected a text for each of {', '.join(LOCALES)}")
    return dict(texts)


def _date(data: Mapping[str, Any], key: str, where: str) -> date:
    value = data.get(key)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif type(value) is date:  # a datetime is a date subclass, but not a day
        return value
    raise CatalogError(f"{where}.{key}: expected a date (YYYY-MM-DD), got {value!r}")
