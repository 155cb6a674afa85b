"""Marshmallow schemas of request and response bodies; they also document the OpenAPI spec."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Not Found"})
    status = fields.Integer(metadata={"example": 404})
    detail = fields.String(metadata={"example": "No article KB123 exists."})
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


class SectionSchema(Schema):
    """One article section."""

    heading = fields.String(allow_none=True, required=True, metadata={"example": "はじめに"})
    body = fields.String(required=True, metadata={"description": "Markdown"})


class RevisionRefSchema(Schema):
    """The revision a representation was built from."""

    number = fields.String(metadata={"example": "2.2"})
    created_at = fields.DateTime(metadata={"example": "2006-12-20T02:56:00Z"})


class RevisionSchema(RevisionRefSchema):
    """A revision in the history list."""

    author = fields.String()
    summary = fields.String()


class AppliesToSchema(Schema):
    """One product/edition/architecture an article covers."""

    product = fields.String(required=True, metadata={"example": "windows_server_2003"})
    edition = fields.String(allow_none=True, metadata={"example": "enterprise"})
    architecture = fields.String(allow_none=True, metadata={"example": "x86"})
    service_pack_min = fields.Integer(allow_none=True)
    service_pack_max = fields.Integer(allow_none=True)
    label = fields.String(dump_only=True)


class NoticeSchema(Schema):
    """A notice generated from structured data (e.g. product lifecycle)."""

    kind = fields.String(metadata={"example": "end_of_support"})
    text = fields.String()
    product = fields.String()
    date = fields.Date()


class ArticleSchema(Schema):
    """An article in one locale at one revision."""

    kb = fields.String(metadata={"example": "885348"})
    locale = fields.String(metadata={"example": "ja"})
    source_locale = fields.String()
    available_locales = fields.List(fields.String())
    translation_outdated = fields.Boolean()
    title = fields.String()
    sections = fields.List(fields.Nested(SectionSchema))
    keywords = fields.List(fields.String())
    related = fields.List(fields.String())
    applies_to = fields.List(fields.Nested(AppliesToSchema))
    notices = fields.List(fields.Nested(NoticeSchema))
    revision = fields.Nested(RevisionRefSchema)


class RulesBodySchema(Schema):
    """An article's current rule document."""

    kb = fields.String()
    revision = fields.Nested(RevisionRefSchema)
    rules = fields.Dict(metadata={"description": "a rule document (docs/rules.md)"})


class RevisionListSchema(Schema):
    """An article's revisions, newest first."""

    kb = fields.String()
    items = fields.List(fields.Nested(RevisionSchema))


class ArticleListItemSchema(Schema):
    """One hit in the article list; search hits (`q`) add snippet, matched_locale and score."""

    kb = fields.String()
    locale = fields.String()
    title = fields.String()
    revision = fields.Nested(RevisionRefSchema)
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

    items = fields.List(fields.Nested(ArticleListItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


# PostgreSQL text cannot hold NUL: refuse it before it reaches SQL.
_NO_NUL = validate.Regexp(r"\A[^\x00]*\Z", error="Must not contain NUL characters.")


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

    number = fields.Integer()
    end_of_support = fields.Date(allow_none=True)


class ProductSchema(Schema):
    """A catalog product."""

    id = fields.String(metadata={"example": "windows_server_2003"})
    names = fields.Dict(keys=fields.String(), values=fields.String())
    editions = fields.List(fields.String())
    architectures = fields.List(fields.String())
    service_packs = fields.List(fields.Integer())
    end_of_support = fields.Date(allow_none=True)
    mainstream_end = fields.Date(allow_none=True)
    service_pack_support = fields.List(fields.Nested(ServicePackSchema))


class ProductListSchema(Schema):
    """The product catalog."""

    items = fields.List(fields.Nested(ProductSchema))


class HealthSchema(Schema):
    """Service health."""

    status = fields.String(metadata={"example": "ok"})


class ApplicabilityRequestSchema(Schema):
    """One system, optionally restricted to some articles."""

    system = fields.Dict(
        required=True,
        metadata={
            "description": "SYSTEM facts (see the contract); custom keys are custom facts",
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
    explain = fields.Boolean(load_default=False, metadata={"description": "add a rule trace"})


class ApplicabilityBatchRequestSchema(Schema):
    """Many systems at once; each carries an `id` echoed in its result."""

    systems = fields.List(
        fields.Raw(),
        required=True,
        metadata={"description": "SYSTEM objects, each with an optional `id`"},
    )
    articles = fields.List(
        fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=1000)
    )
    locale = fields.String(validate=validate.Length(max=35))
    explain = fields.Boolean(load_default=False)


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


class ApplicabilityResultSchema(Schema):
    """The verdict on one article."""

    kb = fields.String()
    title = fields.String()
    verdict = fields.String(validate=validate.OneOf(["applies", "not_applicable", "unknown"]))
    reasons = fields.List(fields.String())
    missing_facts = fields.List(fields.String())
    revision = fields.Dict()
    trace = fields.Dict(metadata={"description": "with explain=true: the per-node trace"})


class ApplicabilityResponseSchema(Schema):
    """Verdicts for one system."""

    locale = fields.String()
    system = fields.Dict(metadata={"description": "normalized SYSTEM, derived facts filled in"})
    derived = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"example": {"behind_nat": "ip_addresses"}},
    )
    results = fields.List(fields.Nested(ApplicabilityResultSchema))
    warnings = fields.List(fields.String())


class BatchEntrySchema(ApplicabilityResponseSchema):
    """One system's answer, or its error."""

    id = fields.Raw(allow_none=True)
    error = fields.Nested(ProblemSchema)


class ApplicabilityBatchResponseSchema(Schema):
    """One entry per system, in request order."""

    locale = fields.String()
    results = fields.List(fields.Nested(BatchEntrySchema))


KB_PATTERN = r"^(?:[Kk][Bb])?\d{1,10}$"


class SectionInSchema(Schema):
    """A section as editors send it."""

    heading = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))
    body = fields.String(required=True, validate=validate.Length(max=200_000))


class AppliesToInSchema(Schema):
    """An applies-to entry as editors send it; the product must be in the catalog."""

    product = fields.String(required=True, validate=validate.Length(min=1, max=64))
    edition = fields.String(allow_none=True, validate=validate.Length(max=64))
    architecture = fields.String(allow_none=True, validate=validate.Length(max=16))
    service_pack_min = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=99))
    service_pack_max = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=99))


def _sections() -> fields.List:
    return fields.List(
        fields.Nested(SectionInSchema), required=True, validate=validate.Length(min=1, max=500)
    )


def _title() -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=500))


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
    )
    source_locale = fields.String(required=True, validate=validate.Length(min=2, max=35))
    title = _title()
    sections = _sections()
    applies_to = fields.List(
        fields.Nested(AppliesToInSchema), required=True, validate=validate.Length(max=500)
    )
    rules = fields.Dict(required=True, allow_none=True, metadata={"description": "RULES"})
    keywords = _keywords()
    related = _related()
    summary = _summary()


class TranslationInSchema(Schema):
    """A locale's text."""

    title = _title()
    sections = _sections()
    summary = _summary()


class RulesInSchema(Schema):
    """A new rule document."""

    rules = fields.Dict(required=True, metadata={"description": "RULES (docs/rules.md)"})
    summary = _summary()


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

    id = fields.Integer()
    kb = fields.String()
    kind = fields.String(metadata={"example": "translation"})
    locale = fields.String(allow_none=True)
    payload = fields.Dict()
    base_revision_id = fields.Integer(allow_none=True)
    version = fields.Integer()
    author = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


class DraftListSchema(Schema):
    """Drafts of an article."""

    items = fields.List(fields.Nested(DraftSchema))


class PublishInSchema(Schema):
    """Why a draft is published."""

    summary = _summary()
