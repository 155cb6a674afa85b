"""Safe JSON request bodies: the API's parser is the domain's (kbservice/jsonin.py)."""

from __future__ import annotations

from ..jsonin import UnsafeJSON, has_lone_surrogate, load_json, nesting_depth

__all__ = ["UnsafeJSON", "has_lone_surrogate", "load_json", "nesting_depth"]
