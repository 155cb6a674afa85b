"""Absolute URLs of kbservice's own pages, which exported documents point to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Links:
    """URLs below the server's base URL (`https://kb.example/`, ending in `/`)."""

    base: str

    def csaf(self, kb: str) -> str:
        """The CSAF export of article `kb`."""
        return f"{self.base}api/v1/articles/{kb}/csaf"

    def page(self, kb: str) -> str:
        """The web page of article `kb`."""
        return f"{self.base}kb/{kb}"
