"""Marshmallow schemas of request and response bodies; they also document the OpenAPI spec."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate
from webargs.fields import DelimitedList


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True, metadata={"example": "Not Found"})
    status = fields.Integer(required=True, metadata={"example": 404})
    detail = fields.String(required=True, metadata={"example": "No article KB123 exists."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Field path → messages, on validation errors",
            "example": {"systems.3.service_pack": ["Must be greater than or equal to 0."]},
        },
    )


class LocaleQuerySchema(Schema):
    """`?locale=`: a BCP 47 tag; unknown locales fall back, never fail."""

    locale = fields.String(
        validate=validate.Length(max=35),
        metadata={"description": "ja, en, ja-JP …; falls back to Accept-Language, then source"},
    )


# An offset's `+` that an unencoded query string turned into a space.
_SPACED_OFFSET = re.compile(r" ([0-9]{2}:[0-9]{2})$")


class Instant(fields.AwareDateTime):
    """An RFC 3339 timestamp with an offset (`2007-03-31T23:59:59+09:00`), returned in UTC."""

    default_error_messages = {  # noqa: RUF012  (as marshmallow declares it)
        "invalid": "Not an RFC 3339 timestamp (2007-03-31T23:59:59+09:00).",
        "invalid_awareness": "The timestamp needs an offset: Z or +hh:mm.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if isinstance(value, str) and len(value) <= 64:
            value = _SPACED_OFFSET.sub(r"+\1", value)
        elif isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC; 9999 after
            edge = dt.datetime.min if moment.year == 1 else dt.datetime.max
            return edge.replace(tzinfo=dt.UTC)


def as_of_field(what: str) -> Instant:
    """The `as_of` parameter: judge by the revisions current at that instant."""
    return Instant(
        metadata={
            "description": f"RFC 3339 with offset: {what} as they were at that instant",
            "example": "2007-03-31T23:59:59+09:00",
        }
    )


class ArticleQuerySchema(LocaleQuerySchema):
    """`?locale=` and `?as_of=` of an article."""

    as_of = as_of_field("the article")


class SectionSchema(Schema):
    """One article section."""

    heading = fields.String(allow_none=True, required=True, metadata={"example": "はじめに"})
    body = fields.String(required=True, metadata={"description": "Markdown"})


class RevisionRefSchema(Schema):
    """The revision a representation was built from."""

    number = fields.String(required=True, metadata={"example": "2.2"})
    created_at = fields.DateTime(required=True, metadata={"example": "2006-12-20T02:56:00Z"})


class RevisionSchema(RevisionRefSchema):
    """A revision in the history list."""

    author = fields.String(required=True)
    summary = fields.String(required=True)


class AppliesToSchema(Schema):
    """One product/edition/architecture an article covers."""

    product = fields.String(required=True, metadata={"example": "windows_server_2003"})
    edition = fields.String(allow_none=True, metadata={"example": "enterprise"})
    architecture = fields.String(allow_none=True, metadata={"example": "x86"})
    service_pack_min = fields.Integer(allow_none=True)
    service_pack_max = fields.Integer(allow_none=True)
    label = fields.String(required=True, metadata={"description": "human-readable, localized"})


class NoticeSchema(Schema):
    """A notice generated from structured data (e.g. product lifecycle)."""

    kind = fields.String(required=True, metadata={"example": "end_of_support"})
    text = fields.String(required=True)
    product = fields.String(required=True)
    date = fields.Date(required=True)


class ArticleSchema(Schema):
    """An article in one locale at one revision."""

    kb = fields.String(required=True, metadata={"example": "885348"})
    locale = fields.String(required=True, metadata={"example": "ja"})
    source_locale = fields.String(required=True)
    available_locales = fields.List(fields.String(), required=True)
    translation_outdated = fields.Boolean(required=True)
    title = fields.String(required=True)
    sections = fields.List(fields.Nested(SectionSchema), required=True)
    keywords = fields.List(fields.String(), required=True)
    related = fields.List(fields.String(), required=True)
    applies_to = fields.List(fields.Nested(AppliesToSchema), required=True)
    notices = fields.List(fields.Nested(NoticeSchema), required=True)
    revision = fields.Nested(RevisionRefSchema, required=True)


_VERDICTS = ["applies", "not_applicable", "unknown"]
_EXAMPLE_SYSTEM = {
    "product": "windows_server_2003",
    "edition": "enterprise",
    "architecture": "x86",
    "service_pack": 2,
    "behind_nat": True,
    "roles": ["vpn_server"],
}


class RuleExampleSchema(Schema):
    """A named system and the verdict the rules must give it."""

    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"example": "VPN server behind NAT"},
    )
    system = fields.Dict(
        required=True, metadata={"description": "SYSTEM facts", "example": _EXAMPLE_SYSTEM}
    )
    expect = fields.String(
        required=True, validate=validate.OneOf(_VERDICTS), metadata={"example": "applies"}
    )


def _examples(description: str) -> fields.List:
    return fields.List(
        fields.Nested(RuleExampleSchema),
        validate=validate.Length(max=100),
        metadata={"description": description},
    )


class RulesBodySchema(Schema):
    """An article's current rule document and its examples."""

    kb = fields.String(required=True)
    revision = fields.Nested(RevisionRefSchema, required=True)
    rules = fields.Dict(required=True, metadata={"description": "a rule document (docs/rules.md)"})
    examples = fields.List(fields.Nested(RuleExampleSchema), required=True)


class ExampleVerdictSchema(Schema):
    """One example judged by proposed rules."""

    name = fields.String(required=True)
    expect = fields.String(required=True, validate=validate.OneOf(_VERDICTS))
    verdict = fields.String(required=True, validate=validate.OneOf(_VERDICTS))
    ok = fields.Boolean(required=True, metadata={"description": "verdict == expect"})


class SystemChangeSchema(Schema):
    """A registered system whose verdict the proposed rules would change."""

    system = fields.String(required=True)
    verdict = fields.String(required=True, validate=validate.OneOf(_VERDICTS))
    previous_verdict = fields.String(required=True, validate=validate.OneOf(_VERDICTS))


class SystemImpactSchema(Schema):
    """How many registered systems would get another verdict, and the first of them."""

    changed = fields.Integer(required=True)
    changes = fields.List(fields.Nested(SystemChangeSchema), required=True)


class RulesPreviewSchema(Schema):
    """What proposed rules would do; nothing is written."""

    examples = fields.List(fields.Nested(ExampleVerdictSchema), required=True)
    systems = fields.Nested(SystemImpactSchema, required=True)


class RevisionListSchema(Schema):
    """An article's revisions, newest first."""

    kb = fields.String(required=True)
    items = fields.List(fields.Nested(RevisionSchema), required=True)


class ArticleListItemSchema(Schema):
    """One hit in the article list; search hits (`q`) add snippet, matched_locale and score."""

    kb = fields.String(required=True)
    locale = fields.String(required=True)
    title = fields.String(required=True)
    revision = fields.Nested(RevisionRefSchema, required=True)
    snippet = fields.String(
        metadata={
            "description": "HTML: the matched passage, escaped, with each match in <mark>",
            "example": "NAT-T の使用は<mark>推奨</mark>されない",
        }
    )
    matched_locale = fields.String(
        metadata={"description": "The locale whose text matched best", "example": "ja"}
    )
    score = fields.Float(
        metadata={"description": "Relevance (BM25); KB numbers named in q come first anyway"}
    )


class ArticleListSchema(Schema):
    """A page of articles."""

    items = fields.List(fields.Nested(ArticleListItemSchema), required=True)
    total = fields.Integer(required=True)
    total_relation = fields.String(
        required=True,
        validate=validate.OneOf(["eq", "gte"]),
        metadata={
            "description": "eq: `total` is exact; gte: a search matched more documents than "
            "it ranks (docs/search.md, 'Bounded cost') and `total` is a lower bound"
        },
    )
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


# PostgreSQL text cannot hold NUL: refuse it before it reaches SQL.
# `^…$` rather than `\A…\Z`: the pattern is also documented, and JSON Schema (ECMA 262)
# regular expressions have no `\A`/`\Z`.
_NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Must not contain NUL characters.")


class OvalFeedQuerySchema(LocaleQuerySchema):
    """`?product=` of the OVAL feed of every current article."""

    product = fields.String(
        validate=validate.Length(min=1, max=128),
        metadata={"description": "Only articles whose applies-to list names this catalog product"},
    )


class ArticleListQuerySchema(LocaleQuerySchema):
    """Filters and paging of the article list."""

    q = fields.String(
        metadata={
            "description": (
                "Full-text query over titles and bodies of every locale, or a KB number "
                '(885348, KB885348). "Quotes" make a phrase; a Japanese run is matched as '
                "written. At most MAX_QUERY_LENGTH (2000) characters. With q, locale is "
                "preferred (its hits rank higher), not required."
            ),
            "example": "推奨",
        }
    )
    product = fields.String(validate=[validate.Length(max=64), _NO_NUL])
    edition = fields.String(validate=[validate.Length(max=64), _NO_NUL])
    architecture = fields.String(validate=[validate.Length(max=16), _NO_NUL])
    service_pack = fields.Integer(validate=validate.Range(min=0, max=99))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ServicePackSchema(Schema):
    """A service pack with its end-of-support date."""

    number = fields.Integer(required=True)
    end_of_support = fields.Date(required=True, allow_none=True)


class ProductSchema(Schema):
    """A catalog product."""

    id = fields.String(required=True, metadata={"example": "windows_server_2003"})
    names = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    editions = fields.List(fields.String(), required=True)
    architectures = fields.List(fields.String(), required=True)
    service_packs = fields.List(fields.Integer(), required=True)
    end_of_support = fields.Date(required=True, allow_none=True)
    mainstream_end = fields.Date(required=True, allow_none=True)
    service_pack_support = fields.List(fields.Nested(ServicePackSchema), required=True)


class ProductListSchema(Schema):
    """The product catalog."""

    items = fields.List(fields.Nested(ProductSchema), required=True)


class HealthSchema(Schema):
    """Service health."""

    status = fields.String(required=True, metadata={"example": "ok"})


class JSONBoolean(fields.Boolean):
    """A boolean in a JSON body: `true` or `false` only, not marshmallow's 1, "yes" …."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ApplicabilityRequestSchema(Schema):
    """One system, optionally restricted to some articles."""

    system = fields.Dict(
        required=True,
        metadata={
            "description": "SYSTEM facts (see the contract); custom keys are custom facts. "
            "`inventory`: {format, data}, what an inventory tool printed (systeminfo, wmi, "
            "ansible, salt, osquery; docs/inventory.md), read as facts; explicit facts win",
            "example": {
                "product": "windows_server_2003",
                "edition": "enterprise",
                "architecture": "x86",
                "service_pack": 2,
                "roles": ["vpn_server"],
                "ip_addresses": ["192.168.1.10"],
            },
        },
    )
    articles = fields.List(
        fields.String(validate=validate.Length(max=32)),
        validate=validate.Length(max=1000),
        metadata={"description": "KB numbers; one result per KB, in this order"},
    )
    locale = fields.String(validate=validate.Length(max=35))
    explain = JSONBoolean(load_default=False, metadata={"description": "add a rule trace"})
    as_of = as_of_field("every article's rules")


class ApplicabilityBatchRequestSchema(Schema):
    """Many systems at once; each carries an `id` echoed in its result."""

    systems = fields.List(
        # Anything, even null: an entry that is no valid SYSTEM gets its own error entry.
        fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "SYSTEM objects, each with an optional `id`"},
    )
    articles = fields.List(
        fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=1000)
    )
    locale = fields.String(validate=validate.Length(max=35))
    explain = JSONBoolean(load_default=False)
    as_of = as_of_field("every article's rules")


class ApplicabilityQuerySchema(Schema):
    """Facts as query parameters, for helpdesk links; lists are comma-separated."""

    product = fields.String(validate=validate.Length(max=64))
    edition = fields.String(validate=validate.Length(max=64))
    architecture = fields.String(validate=validate.Length(max=16))
    service_pack = fields.Integer(validate=validate.Range(min=0, max=99))
    roles = DelimitedList(fields.String(validate=validate.Length(max=64)))
    behind_nat = fields.Boolean()
    ip_addresses = DelimitedList(fields.String(validate=validate.Length(max=64)))
    installed_updates = DelimitedList(fields.String(validate=validate.Length(max=32)))
    cpe = fields.String(validate=validate.Length(max=512))
    os_caption = fields.String(validate=validate.Length(max=256))
    os_version = fields.String(validate=validate.Length(max=64))
    csd_version = fields.String(validate=validate.Length(max=64))
    os_architecture = fields.String(validate=validate.Length(max=32))
    os_product_type = fields.Integer(validate=validate.Range(min=1, max=3))
    locale = fields.String(validate=validate.Length(max=35))
    explain = fields.Boolean(load_default=False)


class RevisionNumberSchema(Schema):
    """The revision whose rules decided."""

    number = fields.String(required=True, metadata={"example": "2.2"})


class ApplicabilityResultSchema(Schema):
    """The verdict on one article."""

    kb = fields.String(required=True)
    title = fields.String(required=True)
    verdict = fields.String(
        required=True, validate=validate.OneOf(["applies", "not_applicable", "unknown"])
    )
    reasons = fields.List(fields.String(), required=True)
    missing_facts = fields.List(fields.String(), required=True)
    revision = fields.Nested(RevisionNumberSchema, required=True)
    trace = fields.Dict(metadata={"description": "with explain=true: the per-node trace"})


class SystemAnswerSchema(Schema):
    """The normalized system, its derived facts, the verdicts and warnings."""

    system = fields.Dict(
        required=True, metadata={"description": "normalized SYSTEM, derived facts filled in"}
    )
    derived = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"example": {"behind_nat": "ip_addresses"}},
    )
    results = fields.List(fields.Nested(ApplicabilityResultSchema), required=True)
    warnings = fields.List(fields.String(), required=True)


class ApplicabilityResponseSchema(SystemAnswerSchema):
    """Verdicts for one system."""

    locale = fields.String(required=True)


class BatchEntrySchema(Schema):
    """One system's answer (system, derived, results, warnings), or its `error`."""

    id = fields.Raw(required=True, allow_none=True, metadata={"description": "as sent"})
    system = fields.Dict(metadata={"description": "normalized SYSTEM, derived facts filled in"})
    derived = fields.Dict(keys=fields.String(), values=fields.String())
    results = fields.List(fields.Nested(ApplicabilityResultSchema))
    warnings = fields.List(fields.String())
    error = fields.Nested(ProblemSchema, metadata={"description": "instead of an answer"})


class ApplicabilityBatchResponseSchema(Schema):
    """One entry per system, in request order."""

    locale = fields.String(required=True)
    results = fields.List(fields.Nested(BatchEntrySchema), required=True)


class ChangesQuerySchema(Schema):
    """`?after=&limit=` of the change feed."""

    after = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "`next` of the previous page, unchanged; empty: from the first"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ChangeSchema(Schema):
    """One published revision, at its place in publication order."""

    cursor = fields.String(required=True, metadata={"description": "continues after this item"})
    kb = fields.String(required=True, metadata={"example": "885348"})
    revision = fields.Nested(RevisionRefSchema, required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["created", "revised", "restored"]),
        metadata={"description": "the article's first revision, a new one, or an old one again"},
    )


class ChangeListSchema(Schema):
    """A page of the change feed and the cursor to continue from."""

    items = fields.List(fields.Nested(ChangeSchema), required=True)
    next = fields.String(required=True, metadata={"description": "pass as `after` to continue"})


# ASCII digits only: `\d` would also take other scripts' digits (`١٢٣`).
KB_PATTERN = r"^(?:[Kk][Bb])?[0-9]{1,10}$"


class SectionInSchema(Schema):
    """A section as editors send it."""

    heading = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))
    body = fields.String(required=True, validate=validate.Length(max=200_000))


class AppliesToInSchema(Schema):
    """An applies-to entry as editors send it; the product must be in the catalog."""

    product = fields.String(required=True, validate=validate.Length(min=1, max=64))
    edition = fields.String(allow_none=True, validate=validate.Length(max=64))
    architecture = fields.String(allow_none=True, validate=validate.Length(max=16))
    service_pack_min = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=99)
    )
    service_pack_max = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=99)
    )


# Examples that the service accepts, so the document's examples make successful requests.
_APPLIES_TO_EXAMPLE = {"product": "windows_xp", "edition": "professional", "architecture": "x86"}
_RULES_EXAMPLE = {"all": [{"product": "windows_xp"}, {"service_pack": {"min": 2}}]}


def _sections() -> fields.List:
    return fields.List(
        fields.Nested(SectionInSchema),
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"example": [{"heading": "Introduction", "body": "Configure the *NAT* first."}]},
    )


def _title() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"example": "Configuring static mappings"},
    )


def _summary() -> fields.String:
    return fields.String(
        load_default="", validate=validate.Length(max=1000), metadata={"description": "why"}
    )


def _keywords() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=200)
    )


def _related() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Regexp(KB_PATTERN, error="must be a KB number")),
        validate=validate.Length(max=200),
    )


class ArticleCreateSchema(Schema):
    """A new article with its first revision."""

    kb = fields.String(
        required=True,
        validate=validate.Regexp(KB_PATTERN, error="must be a KB number such as 885348"),
        metadata={"example": "900001"},
    )
    source_locale = fields.String(
        required=True,
        validate=validate.Length(min=2, max=35),
        metadata={"description": "one of the configured locales (KB_LOCALES)", "example": "en"},
    )
    title = _title()
    sections = _sections()
    applies_to = fields.List(
        fields.Nested(AppliesToInSchema),
        required=True,
        validate=validate.Length(max=500),
        metadata={"example": [_APPLIES_TO_EXAMPLE]},
    )
    rules = fields.Dict(
        required=True,
        allow_none=True,
        metadata={"description": "RULES (docs/rules.md)", "example": _RULES_EXAMPLE},
    )
    keywords = _keywords()
    related = _related()
    summary = _summary()


class TranslationInSchema(Schema):
    """A locale's text."""

    title = _title()
    sections = _sections()
    summary = _summary()


class RulesInSchema(Schema):
    """A new rule document, with the examples it must satisfy."""

    rules = fields.Dict(
        required=True, metadata={"description": "RULES (docs/rules.md)", "example": _RULES_EXAMPLE}
    )
    examples = _examples("named systems and expected verdicts; omitted: the current ones")
    summary = _summary()


class RulesPreviewInSchema(Schema):
    """Proposed rules to judge, with examples (omitted: the article's current ones)."""

    rules = fields.Dict(
        required=True, metadata={"description": "RULES (docs/rules.md)", "example": _RULES_EXAMPLE}
    )
    examples = _examples("named systems and expected verdicts; omitted: the current ones")


class MetadataInSchema(Schema):
    """Keywords, related articles and applies-to; omitted fields stay as they are."""

    keywords = _keywords()
    related = _related()
    applies_to = fields.List(fields.Nested(AppliesToInSchema), validate=validate.Length(max=500))
    summary = _summary()


class RestoreInSchema(Schema):
    """Why an old revision is restored."""

    summary = _summary()


class DraftSchema(Schema):
    """A pending edit, visible to editors only."""

    id = fields.Integer(required=True)
    kb = fields.String(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["article", "translation", "rules", "metadata"]),
        metadata={"example": "translation"},
    )
    locale = fields.String(required=True, allow_none=True)
    payload = fields.Dict(required=True)
    base_revision_id = fields.Integer(required=True, allow_none=True)
    version = fields.Integer(required=True)
    author = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class DraftListSchema(Schema):
    """Drafts of an article."""

    items = fields.List(fields.Nested(DraftSchema), required=True)


class PublishInSchema(Schema):
    """Why a draft is published."""

    summary = _summary()


class JSONChangeSchema(Schema):
    """One changed leaf of a JSON value (rules, keywords, related, applies-to)."""

    path = fields.String(required=True, metadata={"example": "any.0.all.1.edition"})
    change = fields.String(required=True, validate=validate.OneOf(["added", "removed", "changed"]))
    from_ = fields.Raw(data_key="from", allow_none=True, metadata={"description": "the old value"})
    to = fields.Raw(allow_none=True, metadata={"description": "the new value"})


class TitleChangeSchema(Schema):
    """A changed title."""

    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)


class SectionDiffSchema(Schema):
    """One section compared by position."""

    index = fields.Integer(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["added", "removed", "changed", "unchanged"])
    )
    heading = fields.String(required=True, allow_none=True)
    heading_from = fields.String(allow_none=True, metadata={"description": "when changed"})
    body_diff = fields.List(fields.String(), metadata={"description": "unified diff lines"})


class TextDiffSchema(Schema):
    """One locale's text compared; added or removed texts carry only `status`."""

    status = fields.String(
        required=True, validate=validate.OneOf(["added", "removed", "changed", "unchanged"])
    )
    title = fields.Nested(TitleChangeSchema, allow_none=True)
    sections = fields.List(fields.Nested(SectionDiffSchema))


class DiffSchema(Schema):
    """Differences between two revisions of an article."""

    kb = fields.String(required=True)
    from_ = fields.String(data_key="from", required=True, metadata={"example": "2.2"})
    to = fields.String(required=True, metadata={"example": "2.3"})
    texts = fields.Dict(keys=fields.String(), values=fields.Nested(TextDiffSchema), required=True)
    rules = fields.List(fields.Nested(JSONChangeSchema), required=True)
    metadata = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Nested(JSONChangeSchema)),
        required=True,
        metadata={"description": "keywords, related, applies_to: only those that changed"},
    )


class OutdatedTranslationSchema(Schema):
    """A translation written from an older source text."""

    kb = fields.String(required=True)
    locale = fields.String(required=True)
    title = fields.String(required=True)
    source_locale = fields.String(required=True)
    source_changed_in = fields.String(required=True, metadata={"example": "2.3"})
    translated_from = fields.String(required=True, allow_none=True, metadata={"example": "2.2"})


class OutdatedTranslationListSchema(Schema):
    """Every outdated translation."""

    items = fields.List(fields.Nested(OutdatedTranslationSchema), required=True)
    total = fields.Integer(required=True)


class AuditEventSchema(Schema):
    """One write: who, when, what, from where."""

    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True, metadata={"example": "translation.put"})
    kb = fields.String(required=True, allow_none=True)
    revision = fields.String(required=True, allow_none=True)
    remote_addr = fields.String(required=True, allow_none=True)
    details = fields.Dict(required=True, allow_none=True)


class AuditListSchema(Schema):
    """A page of audit events, newest first."""

    items = fields.List(fields.Nested(AuditEventSchema), required=True)
    total = fields.Integer(required=True)


# Headers, for the OpenAPI document (request headers go in with Blueprint.header_parameters).
IF_MATCH_ARTICLE = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": (
        "The ETag of the article's current revision (from any locale's representation); "
        "428 without it, 412 when someone saved first"
    ),
    "schema": {"type": "string"},
}
IF_MATCH_DRAFT = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The draft's ETag (`draft-<version>`): 412 instead of overwriting a newer save",
    "schema": {"type": "string"},
}
IF_MATCH_PUBLISH = {
    **IF_MATCH_ARTICLE,
    "required": False,
    "description": (
        "For a draft of an existing article: the ETag of its current revision (428/412); "
        "a draft of a new article needs none"
    ),
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag of this representation: 304 when it is still current",
    "schema": {"type": "string"},
}
ETAG = {
    "ETag": {
        "description": "Strong ETag of the representation; changes with every revision",
        "schema": {"type": "string"},
        "required": True,
    }
}
LOCALIZED = {
    "Content-Language": {
        "description": "The locale served",
        "schema": {"type": "string"},
        "required": True,
    }
}
LOCATION = {
    "Location": {
        "description": "The new article",
        "schema": {"type": "string"},
        "required": True,
    }
}


def max_length(schema: type[Schema], field: str) -> int:
    """The longest value `schema` accepts for `field` (its Length validator's maximum).

    The fast lanes (api/fastpath.py) take their limits from here, so that what they
    answer themselves is exactly what the schema would accept.
    """
    for validator in schema._declared_fields[field].validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            return validator.max
    raise LookupError(f"{schema.__name__}.{field} has no maximum length")


class SystemBodySchema(Schema):
    """A SYSTEM to register: its facts (custom keys are custom facts)."""

    class Meta:
        unknown = INCLUDE


class SystemRecordSchema(SystemAnswerSchema):
    """A registered system with its verdicts under the articles' current revisions."""

    id = fields.String(required=True, metadata={"example": "web-01.example.com"})
    updated_at = fields.String(required=True, metadata={"example": "2026-12-04T19:40:00Z"})
    locale = fields.String(required=True)


class SystemBatchRequestSchema(Schema):
    """Systems to register or replace, each with its `id`."""

    systems = fields.List(
        fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "SYSTEM objects, each with an `id`; at most MAX_BATCH_SYSTEMS"},
    )


class SystemBatchEntrySchema(Schema):
    """201 (new) or 200 (replaced), or the problem that kept the system out."""

    id = fields.Raw(required=True, allow_none=True)
    status = fields.Integer(validate=validate.OneOf([200, 201]))
    error = fields.Nested(ProblemSchema)


class SystemBatchResponseSchema(Schema):
    """One entry per system, in request order."""

    results = fields.List(fields.Nested(SystemBatchEntrySchema), required=True)


class PageQuerySchema(Schema):
    """Paging of a list."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class SystemListItemSchema(Schema):
    """A registered system in the list."""

    id = fields.String(required=True)
    product = fields.String(allow_none=True)
    updated_at = fields.String(required=True)


class SystemListSchema(Schema):
    """A page of registered systems, by id."""

    items = fields.List(fields.Nested(SystemListItemSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class ArticleSystemsQuerySchema(PageQuerySchema):
    """Which verdict to list the registered systems of."""

    verdict = fields.String(load_default="applies", validate=validate.OneOf(["applies", "unknown"]))


class ArticleSystemSchema(Schema):
    """A registered system's stored verdict on the article."""

    id = fields.String(required=True)
    verdict = fields.String(required=True)
    missing_facts = fields.List(fields.String(), required=True)


class ArticleSystemsSchema(Schema):
    """A page of the registered systems with one verdict on an article."""

    items = fields.List(fields.Nested(ArticleSystemSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class WebhookInSchema(Schema):
    """A webhook subscription to create."""

    url = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=2000), _NO_NUL],
        metadata={
            "description": "an http or https URL; loopback and private hosts are allowed",
            "example": "https://inventory.example.com/hooks/kbservice",
        },
    )
    secret = fields.String(
        required=True,
        validate=[validate.Length(min=16, max=200), _NO_NUL],
        metadata={"description": "HMAC-SHA256 key of X-KB-Signature; never returned"},
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(["verdict.changed"])),
        required=True,
        validate=validate.Length(min=1, max=10),
    )


class WebhookPatchSchema(Schema):
    """Enable (resetting its failure count) or disable a webhook."""

    enabled = JSONBoolean(required=True)


class WebhookSchema(Schema):
    """A webhook as admins see it (never its secret)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    failures = fields.Integer(required=True, metadata={"description": "failed attempts in a row"})
    disabled_at = fields.String(allow_none=True)
    created_at = fields.String(required=True)


class WebhookListSchema(Schema):
    """Every webhook."""

    items = fields.List(fields.Nested(WebhookSchema), required=True)


class DeliverySchema(Schema):
    """One delivery and how its attempts went."""

    id = fields.String(required=True, metadata={"description": "as in X-KB-Delivery"})
    event = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["pending", "delivered"]))
    attempts = fields.Integer(required=True)
    created_at = fields.String(required=True)
    next_attempt_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)


class DeliveryListSchema(Schema):
    """A page of a webhook's deliveries, newest first."""

    items = fields.List(fields.Nested(DeliverySchema), required=True)
    total = fields.Integer(required=True)
