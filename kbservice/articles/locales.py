"""Locales: negotiation (choice, Accept-Language, then the source locale), an edit's check."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ValidationFailed


def primary_tag(tag: str) -> str:
    """Reduce a BCP 47 tag to its lowercased language subtag (`ja-JP` → `ja`)."""
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


def parse_accept_language(header: str) -> list[str]:
    """Return the language tags of an Accept-Language header, most preferred first."""
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        parts = item.strip().split(";")
        tag = parts[0].strip()
        if not tag:
            continue
        quality = 1.0
        for param in parts[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def check_locale(locale: str, configured: Sequence[str], field: str) -> str:
    """The configured locale `locale` names, or ValidationFailed naming `field`."""
    chosen = locale.strip().lower()
    if chosen not in configured:
        raise ValidationFailed(
            f"Locale {locale!r} is not configured.",
            errors={field: [f"must be one of {', '.join(configured)}"]},
        )
    return chosen


def negotiate(
    requested: str | None,
    accept_language: str | None,
    available: Sequence[str],
    fallback: str,
) -> str:
    """Pick the locale to serve; unknown or unsupported choices fall through, never fail."""
    if requested:
        chosen = primary_tag(requested)
        if chosen in available:
            return chosen
    if accept_language:
        for tag in parse_accept_language(accept_language):
            if tag == "*":
                break
            chosen = primary_tag(tag)
            if chosen in available:
                return chosen
    return fallback
