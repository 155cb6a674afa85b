"""Marshmallow schemas of request and response bodies; they also document the OpenAPI spec."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


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


class RevisionListSchema(Schema):
    """An article's revisions, newest first."""

    kb = fields.String()
    items = fields.List(fields.Nested(RevisionSchema))


class ArticleListItemSchema(Schema):
    """One hit in the article list."""

    kb = fields.String()
    locale = fields.String()
    title = fields.String()
    revision = fields.Nested(RevisionRefSchema)


class ArticleListSchema(Schema):
    """A page of articles."""

    items = fields.List(fields.Nested(ArticleListItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ArticleListQuerySchema(LocaleQuerySchema):
    """Filters and paging of the article list."""

    q = fields.String(metadata={"description": "Full-text query in any locale, or a KB number"})
    product = fields.String(validate=validate.Length(max=64))
    edition = fields.String(validate=validate.Length(max=64))
    architecture = fields.String(validate=validate.Length(max=16))
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
