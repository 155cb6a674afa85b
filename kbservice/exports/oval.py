"""Articles as OVAL 5.11 definitions: rule trees become criteria over Windows tests.

What a scanner can read on the host becomes a Windows test (registry, WMI); a fact it
cannot observe (`behind_nat`, `roles`, custom facts) becomes an external variable that
whoever runs the scan supplies. docs/exports.md lists the mapping.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..articles.reading import ArticleSnapshot
from ..catalog.products import Catalog
from ..rules.applies_to import rules_from_applies_to
from ..rules.language import PLATFORM_TESTS, leaf_test
from .links import Links

SCHEMA_VERSION = "5.11.2"
DEF = "http://oval.mitre.org/XMLSchema/oval-definitions-5"
COMMON = "http://oval.mitre.org/XMLSchema/oval-common-5"
WIN = "http://oval.mitre.org/XMLSchema/oval-definitions-5#windows"
IND = "http://oval.mitre.org/XMLSchema/oval-definitions-5#independent"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {None: DEF, "oval": COMMON, "win-def": WIN, "ind-def": IND, "xsi": XSI}
_PREFIX = {DEF: None, WIN: "win-def", IND: "ind-def"}
_SCHEMA_LOCATION = " ".join(
    (
        f"{DEF} oval-definitions-schema.xsd",
        f"{COMMON} oval-common-schema.xsd",
        f"{WIN} windows-definitions-schema.xsd",
        f"{IND} independent-definitions-schema.xsd",
    )
)
SECTIONS = ("tests", "objects", "states", "variables")

_CURRENT_VERSION = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
_ENVIRONMENT = r"SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
# A REG_DWORD that every Windows has, RTM included: service pack major × 256 + minor.
# (The string CurrentVersion\CSDVersion, "Service Pack 2", is absent on RTM.)
_CSD = r"SYSTEM\CurrentControlSet\Control\Windows"
# PROCESSOR_ARCHITECTURE as Windows spells the catalog's architectures; read from the
# registry, so a 32-bit scanner on 64-bit Windows sees the machine's, not its own.
PROCESSOR_ARCHITECTURE = {"x86": "x86", "x64": "AMD64", "ia64": "IA64", "arm64": "ARM64"}
_UPDATE_ID = re.compile(r"(?:kb)?([0-9]{1,10})", re.IGNORECASE)
# Characters XML 1.0 cannot carry at all; a rule's strings may hold them (JSON can).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def _xml_text(value: object) -> str:
    """`value` as XML text; characters XML 1.0 cannot hold become U+FFFD."""
    text = _plain(value)
    return _NOT_XML.sub("\ufffd", text)


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _caseless(phrase: str) -> str:
    """A regular expression matching `phrase` in any case, its spaces and `_` as any blank."""
    words = re.split(r"[\s_]+", phrase.strip())
    return r"\s+".join("".join(map(_either_case, word)) for word in words if word)


def _either_case(character: str) -> str:
    upper, lower = character.upper(), character.lower()
    if upper != lower and len(upper) == 1:
        return f"[{upper}{lower}]"
    return _REGEX_SPECIAL.sub(r"\\\1", character)


def _alternatives(patterns: Iterable[str]) -> str:
    unique = list(dict.fromkeys(patterns))
    return unique[0] if len(unique) == 1 else "(" + "|".join(unique) + ")"


@dataclass
class Builder:
    """The parts of one OVAL document: definitions, and the tests … variables they use.

    Tests, objects, states and variables are named by a digest of their content, so the
    same element has the same id in every document and is written once per document.
    """

    namespace: str
    catalog: Catalog
    definitions: list[etree._Element] = field(default_factory=list)
    parts: dict[str, dict[str, etree._Element]] = field(
        default_factory=lambda: {section: {} for section in SECTIONS}
    )

    # Elements

    def _add(self, section: str, kind: str, element: etree._Element) -> str:
        digest = hashlib.sha256(etree.tostring(element, method="c14n")).digest()
        number = int.from_bytes(digest[:6], "big") or 1
        identifier = f"oval:{self.namespace}:{kind}:{number}"
        element.set("id", identifier)
        element.set("version", "1")
        self.parts[section].setdefault(identifier, element)
        return identifier

    def _registry_object(self, key: str, name: str) -> str:
        element = _top(f"{{{WIN}}}registry_object")
        _child(element, WIN, "hive", "HKEY_LOCAL_MACHINE")
        _child(element, WIN, "key", key)
        _child(element, WIN, "name", name)
        element.set("comment", f"HKLM\\{key}\\{name}")
        return self._add("objects", "obj", element)

    def _state(self, tag: str, ns: str, entity: str, value: str, **attributes: str) -> str:
        element = _top(f"{{{ns}}}{tag}")
        _child(element, ns, entity, value, **attributes)
        return self._add("states", "ste", element)

    def _test(
        self,
        tag: str,
        ns: str,
        comment: str,
        object_id: str,
        state_id: str | None = None,
        *,
        check: str = "all",
        existence: str = "at_least_one_exists",
    ) -> str:
        element = _top(
            f"{{{ns}}}{tag}", check=check, check_existence=existence, comment=_xml_text(comment)
        )
        etree.SubElement(element, f"{{{ns}}}object", object_ref=object_id)
        if state_id is not None:
            etree.SubElement(element, f"{{{ns}}}state", state_ref=state_id)
        return self._add("tests", "tst", element)

    def _registry_test(
        self, comment: str, key: str, name: str, value: str, **attributes: str
    ) -> str:
        state = self._state("registry_state", WIN, "value", value, **attributes)
        return self._test("registry_test", WIN, comment, self._registry_object(key, name), state)

    def external_variable(self, fact: str, datatype: str) -> str:
        """The external variable that supplies `fact` as `datatype` values."""
        element = _top(
            f"{{{DEF}}}external_variable",
            datatype=datatype,
            comment=f"kbservice fact {fact} ({datatype})",
        )
        return self._add("variables", "var", element)

    def _variable_test(
        self,
        comment: str,
        variable: str,
        value: str | None,
        *,
        check: str = "all",
        existence: str = "at_least_one_exists",
        **attributes: str,
    ) -> str:
        obj = _top(f"{{{IND}}}variable_object")
        _child(obj, IND, "var_ref", variable)
        object_id = self._add("objects", "obj", obj)
        state = (
            None
            if value is None
            else self._state("variable_state", IND, "value", value, **attributes)
        )
        return self._test(
            "variable_test", IND, comment, object_id, state, check=check, existence=existence
        )

    def _product_version(self) -> str:
        """A local variable: CurrentVersion `.` CurrentBuildNumber, e.g. `5.2.3790`."""
        element = _top(
            f"{{{DEF}}}local_variable", datatype="version", comment="Windows version and build"
        )
        concat = etree.SubElement(element, f"{{{DEF}}}concat")
        etree.SubElement(
            concat,
            f"{{{DEF}}}object_component",
            object_ref=self._registry_object(_CURRENT_VERSION, "CurrentVersion"),
            item_field="value",
        )
        etree.SubElement(concat, f"{{{DEF}}}literal_component").text = "."
        etree.SubElement(
            concat,
            f"{{{DEF}}}object_component",
            object_ref=self._registry_object(_CURRENT_VERSION, "CurrentBuildNumber"),
            item_field="value",
        )
        return self._add("variables", "var", element)

    # Criteria

    def definition(self, snapshot: ArticleSnapshot, locale: str, page_url: str) -> None:
        """Add the definition of the article's revision `snapshot`."""
        text = snapshot.text(locale)
        rules = snapshot.rules
        if rules is None:
            rules = rules_from_applies_to(snapshot.applies_to)
        element = _top(
            f"{{{DEF}}}definition",
            id=f"oval:{self.namespace}:def:{snapshot.kb}",
            version=str(snapshot.revision.seq),
            **{"class": "miscellaneous"},
        )
        metadata = etree.SubElement(element, f"{{{DEF}}}metadata")
        _child(metadata, DEF, "title", f"KB{snapshot.kb}: {text.title}")
        affected = etree.SubElement(metadata, f"{{{DEF}}}affected", family="windows")
        for name in self._platforms(snapshot.applies_to, text.locale):
            _child(affected, DEF, "platform", name)
        etree.SubElement(
            metadata,
            f"{{{DEF}}}reference",
            source="kbservice",
            ref_id=f"KB{snapshot.kb}",
            ref_url=page_url,
        )
        summary = text.sections[0].body if text.sections else text.title
        _child(metadata, DEF, "description", summary)
        criteria = self._node(rules, False)
        resolution = rules.get("resolved_by")
        if isinstance(resolution, Mapping):
            # Applies unless resolved. (kbservice answers `applies` when the resolution
            # cannot be checked; OVAL's AND of true and unknown is unknown.)
            criteria = _criteria("AND", [criteria, self._node(resolution, True)], None, False)
        elif criteria.tag != f"{{{DEF}}}criteria":
            criteria = _criteria("AND", [criteria], None, False)
        element.append(criteria)
        self.definitions.append(element)

    def _platforms(self, applies_to: Iterable[Mapping[str, Any]], locale: str) -> Iterator[str]:
        names = {}
        for entry in applies_to:
            product = self.catalog.get(entry["product"])
            names[entry["product"]] = product.names.get(locale) if product else entry["product"]
        yield from (name or product_id for product_id, name in names.items())

    def _node(self, node: Mapping[str, Any], negate: bool) -> etree._Element:
        """The criteria (or criterion) of a validated rule object; `not` flips `negate`."""
        label = node.get("label")
        comment = (label.get("en") or label.get("ja")) if isinstance(label, Mapping) else None
        if "not" in node:
            inner = self._node(node["not"], not negate)
            if comment and inner.get("comment") is None:
                inner.set("comment", _xml_text(comment))
            return inner
        for kind, operator in (("all", "AND"), ("any", "OR")):
            if kind in node:
                children = [self._node(child, False) for child in node[kind]]
                return _criteria(operator, children, comment, negate)
        test, fact = leaf_test(node)
        parts = self._leaf(fact, test, node[test])
        if len(parts) == 1 and isinstance(parts[0], str):
            element = etree.Element(f"{{{DEF}}}criterion", test_ref=parts[0])
            if negate:
                element.set("negate", "true")
            if comment:
                element.set("comment", _xml_text(comment))
            return element
        return _criteria(*_combined(parts), comment, negate)

    def _leaf(self, fact: str, test: str, operand: Any) -> list[Any]:
        """Test ids for one leaf: `[id]`, or `["OR"|"AND", [parts…]]` for several."""
        platform = fact in PLATFORM_TESTS and (test == fact or test in ("equals", "in"))
        if platform and fact in ("product", "edition", "architecture"):
            values = operand if isinstance(operand, list) else [operand]
            if all(isinstance(value, str) for value in values):
                return [self._name_test(fact, values)]
        if fact == "service_pack" and (platform or test in ("lt", "le", "gt", "ge")):
            parts = self._service_pack(test, operand)
            if parts is not None:
                return parts
        # `equals`/`in` compare product_version facts as strings, not as versions.
        if fact == "product_version" and (test == fact or test.startswith("version_")):
            return self._version(test, operand)
        if fact == "installed_updates" and test == "contains" and isinstance(operand, str):
            match = _UPDATE_ID.fullmatch(operand)
            if match:
                return [self._update_test(f"KB{match.group(1)}")]
        return self._external(fact, test, operand)

    def _name_test(self, fact: str, values: list[str]) -> str:
        """Product or edition from ProductName; architecture from PROCESSOR_ARCHITECTURE."""
        if fact == "architecture":
            names = [PROCESSOR_ARCHITECTURE.get(value, value) for value in values]
            pattern = "^" + _alternatives(_REGEX_SPECIAL.sub(r"\\\1", n) for n in names) + "$"
            return self._registry_test(
                f"architecture is {', '.join(values)}",
                _ENVIRONMENT,
                "PROCESSOR_ARCHITECTURE",
                pattern,
                operation="pattern match",
            )
        patterns = []
        for value in values:
            product = self.catalog.get(value) if fact == "product" else None
            phrases = product.captions if product and product.captions else (value,)
            patterns += [_caseless(phrase) for phrase in phrases]
        return self._registry_test(
            f"{fact} is {', '.join(values)}",
            _CURRENT_VERSION,
            "ProductName",
            _alternatives(patterns),
            operation="pattern match",
        )

    def _csd_test(self, operation: str, value: int, comment: str) -> str:
        return self._registry_test(
            comment, _CSD, "CSDVersion", str(value), datatype="int", operation=operation
        )

    def _service_pack(self, test: str, operand: Any) -> list[Any] | None:
        """Service pack levels as ranges of the CSDVersion DWORD (major × 256 + minor)."""

        def level(low: int | None, high: int | None) -> list[Any]:
            checks = []
            if low is not None:
                checks.append(
                    self._csd_test("greater than or equal", low * 256, f"service pack ≥ {low}")
                )
            if high is not None:
                checks.append(
                    self._csd_test("less than", (high + 1) * 256, f"service pack ≤ {high}")
                )
            return checks if len(checks) == 1 else ["AND", checks]

        if isinstance(operand, bool) or not isinstance(operand, (int, dict, list)):
            return None
        if test in ("lt", "le", "gt", "ge"):
            if not isinstance(operand, int):
                return None
            bounds = {"lt": (None, operand - 1), "le": (None, operand)}
            bounds |= {"gt": (operand + 1, None), "ge": (operand, None)}
            low, high = bounds[test]
            if high is not None and high < 0:
                return None  # "less than 0" holds for no level: left to the external fact
            return level(max(low, 0) if low is not None else None, high)
        if isinstance(operand, dict):
            return level(operand.get("min"), operand.get("max"))
        values = operand if isinstance(operand, list) else [operand]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return None
        alternatives = [level(value, value) for value in values]
        return alternatives[0] if len(alternatives) == 1 else ["OR", alternatives]

    def _version(self, test: str, operand: Any) -> list[Any]:
        """A `product_version` test or a `version_*` test of that fact (validated operands)."""
        variable = self._product_version()
        operations = {
            "version_eq": "equals",
            "version_lt": "less than",
            "version_le": "less than or equal",
            "version_gt": "greater than",
            "version_ge": "greater than or equal",
        }

        def compare(operation: str, version: str) -> str:
            return self._variable_test(
                f"Windows version {operation} {version}",
                variable,
                version,
                datatype="version",
                operation=operation,
            )

        if test in operations:
            return [compare(operations[test], operand)]
        if isinstance(operand, dict):
            checks = []
            if "min" in operand:
                checks.append(compare("greater than or equal", operand["min"]))
            if "max" in operand:
                checks.append(compare("less than or equal", operand["max"]))
            return checks if len(checks) == 1 else ["AND", checks]
        values = operand if isinstance(operand, list) else [operand]
        tests = [compare("equals", value) for value in values]
        return tests if len(tests) == 1 else ["OR", tests]

    def _update_test(self, update: str) -> str:
        """True when Win32_QuickFixEngineering lists the update."""
        element = _top(f"{{{WIN}}}wmi_object")
        _child(element, WIN, "namespace", "root\\cimv2")
        # `update` is KB + digits (checked by the caller), so the query cannot be bent.
        _child(
            element,
            WIN,
            "wql",
            f"SELECT HotFixID FROM Win32_QuickFixEngineering WHERE HotFixID = '{update}'",
        )
        object_id = self._add("objects", "obj", element)
        return self._test("wmi_test", WIN, f"update {update} is installed", object_id)

    def _external(self, fact: str, test: str, operand: Any) -> list[Any]:
        """A test of an external variable that carries the fact's value(s)."""
        if test == "exists":
            variable = self.external_variable(fact, "string")
            existence = "at_least_one_exists" if operand else "none_exist"
            verb = "is supplied" if operand else "is not supplied"
            return [self._variable_test(f"{fact} {verb}", variable, None, existence=existence)]
        if test == "in_cidr":
            networks = operand if isinstance(operand, list) else [operand]
            tests = []
            for network in networks:
                datatype = "ipv6_address" if ":" in network else "ipv4_address"
                tests.append(
                    self._variable_test(
                        f"{fact} in {network}",
                        self.external_variable(fact, datatype),
                        network,
                        check="at least one",
                        datatype=datatype,
                        operation="subset of",
                    )
                )
            return tests if len(tests) == 1 else ["OR", tests]
        values = operand if test == "in" else [operand]
        tests = [self._external_compare(fact, test, value) for value in values]
        return tests if len(tests) == 1 else ["OR", tests]

    def _external_compare(self, fact: str, test: str, value: Any) -> str:
        if test.startswith("version_"):
            datatype = "version"
        elif test in ("lt", "le", "gt", "ge"):
            datatype = "float"
        else:
            datatype = _datatype(value)
        operation = {
            "lt": "less than",
            "le": "less than or equal",
            "gt": "greater than",
            "ge": "greater than or equal",
            "version_lt": "less than",
            "version_le": "less than or equal",
            "version_gt": "greater than",
            "version_ge": "greater than or equal",
        }.get(test, "equals")
        # `contains` ignores the case of strings, as the rule engine does.
        if test == "contains" and datatype == "string":
            operation = "case insensitive equals"
        return self._variable_test(
            f"{fact} {test} {_plain(value)}",
            self.external_variable(fact, datatype),
            _plain(value),
            check="at least one" if test == "contains" else "all",
            datatype=datatype,
            operation=operation,
        )


def generator(generated: dt.datetime) -> etree._Element:
    """The `generator` element: kbservice, OVAL 5.11.2, when."""
    element = etree.Element(f"{{{DEF}}}generator", nsmap={None: DEF, "oval": COMMON})
    _child(element, COMMON, "product_name", "kbservice")
    _child(element, COMMON, "schema_version", SCHEMA_VERSION)
    _child(element, COMMON, "timestamp", generated.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return element


def oval_document(
    snapshot: ArticleSnapshot,
    catalog: Catalog,
    locale: str,
    namespace: str,
    links: Links,
    generated: dt.datetime,
) -> bytes:
    """The OVAL definitions document of one article's revision, as UTF-8 XML."""
    return b"".join(oval_feed([snapshot], catalog, locale, namespace, links, generated))


def oval_feed(
    snapshots: Iterable[ArticleSnapshot],
    catalog: Catalog,
    locale: str,
    namespace: str,
    links: Links,
    generated: dt.datetime,
) -> Iterator[bytes]:
    """One OVAL document of many articles, written while the snapshots are read.

    Definitions are sent as each article is read; the tests, objects, states and
    variables they use (each once) wait in temporary files, in memory up to
    FEED_SPOOL_BYTES each and on disk beyond, and follow. So a feed holds one article
    and the ids already written in memory, whatever the number of articles.
    """
    sink = _Sink()
    written: set[str] = set()
    with contextlib.ExitStack() as files:
        spools = {
            section: files.enter_context(tempfile.SpooledTemporaryFile(FEED_SPOOL_BYTES))
            for section in SECTIONS
        }
        with etree.xmlfile(sink, encoding="UTF-8") as xml:
            xml.write_declaration()
            root = f"{{{DEF}}}oval_definitions"
            with xml.element(root, {f"{{{XSI}}}schemaLocation": _SCHEMA_LOCATION}, nsmap=NSMAP):
                xml.write("\n", generator(generated), "\n")
                articles = iter(snapshots)
                first = next(articles, None)
                if first is not None:  # an empty `definitions` is not allowed
                    with xml.element(f"{{{DEF}}}definitions"):
                        for snapshot in itertools.chain((first,), articles):
                            builder = Builder(namespace, catalog)
                            builder.definition(snapshot, locale, links.page(snapshot.kb))
                            xml.write("\n", *builder.definitions)
                            for section, elements in builder.parts.items():
                                for identifier, element in elements.items():
                                    if identifier not in written:
                                        written.add(identifier)
                                        spools[section].write(b"\n" + etree.tostring(element))
                            xml.flush()
                            if len(sink.buffer) >= FEED_CHUNK_BYTES:
                                yield sink.take()
                        xml.write("\n")
                for section, spool in spools.items():
                    if not spool.tell():
                        continue
                    xml.write("\n")
                    with xml.element(f"{{{DEF}}}{section}"):
                        xml.flush()
                        spool.seek(0)
                        # Elements lxml wrote, copied as they are into the open section.
                        while piece := spool.read(FEED_CHUNK_BYTES):
                            sink.write(piece)
                            yield sink.take()
                        xml.write("\n")
                xml.write("\n")
        yield sink.take()


class _Sink:
    """What the XML writer has written and not yet been sent."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        """Take bytes from the writer (or a copied section)."""
        self.buffer += data

    def take(self) -> bytes:
        """Everything written since the last call."""
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


# Bytes of each feed section held in memory before it goes to a temporary file.
FEED_SPOOL_BYTES = 4 * 1024 * 1024
# A feed is sent in pieces of about this size.
FEED_CHUNK_BYTES = 64 * 1024


def _top(tag: str, **attributes: str) -> etree._Element:
    """An element that goes straight below a section, declaring its namespace's prefix."""
    ns = tag[1 : tag.index("}")]
    return etree.Element(tag, attributes, nsmap={_PREFIX[ns]: ns})


def _datatype(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


def _child(parent: etree._Element, ns: str, tag: str, text: str, **attributes: str) -> None:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", **attributes)
    element.text = _xml_text(text)


def _criteria(
    operator: str, children: list[etree._Element], comment: str | None, negate: bool
) -> etree._Element:
    element = etree.Element(f"{{{DEF}}}criteria", operator=operator)
    if negate:
        element.set("negate", "true")
    if comment:
        element.set("comment", _xml_text(comment))
    element.extend(children)
    return element


def _combined(parts: list[Any]) -> tuple[str, list[etree._Element]]:
    """(operator, criteria children) of a leaf's `["AND"|"OR", [parts…]]` or `[id, id…]`."""
    operator, items = (parts[0], parts[1]) if parts and parts[0] in ("AND", "OR") else ("OR", parts)
    children = []
    for item in items:
        if isinstance(item, str):
            children.append(etree.Element(f"{{{DEF}}}criterion", test_ref=item))
        else:
            children.append(_criteria(*_combined(item), None, False))
    return operator, children
