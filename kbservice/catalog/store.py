"""The product catalog in the database, and the process-wide cached Catalog built from it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..storage.db import utcnow
from ..storage.models import Product
from .products import Catalog


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def upsert_products(session: Session, products: list[Mapping[str, Any]]) -> int:
    """Store catalog entries (the seeds/products.yaml shape); return how many changed."""
    Catalog.from_dicts([dict(p) for p in products])  # validate before writing anything
    existing = {product.id: product for product in session.scalars(select(Product))}
    changed = 0
    for position, entry in enumerate(products):
        data = _jsonable(entry)
        row = existing.get(entry["id"])
        if row is not None and row.data == data and row.position == position:
            continue
        if row is None:
            row = Product(id=entry["id"])
            session.add(row)
        row.position = position
        row.data = data
        row.mainstream_end = _date(entry.get("mainstream_end"))
        row.extended_end = _date(entry.get("extended_end"))
        row.updated_at = utcnow()
        changed += 1
    session.flush()
    return changed


def load_catalog(session: Session) -> Catalog:
    """The catalog as stored, in its order."""
    rows = session.scalars(select(Product).order_by(Product.position, Product.id))
    return Catalog.from_dicts([row.data for row in rows])


class CatalogCache:
    """The Catalog of one application, rebuilt only when the products table changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: object = None
        self._catalog: Catalog | None = None

    def get(self, stamp: object, load: Callable[[], Catalog]) -> Catalog:
        """The catalog for `stamp` (freshness.Stamps.catalog); `load` reads it on a change."""
        catalog = self._catalog
        if catalog is not None and stamp == self._stamp:
            return catalog
        with self._lock:
            if self._catalog is None or stamp != self._stamp:
                self._catalog = load()
                self._stamp = stamp
            return self._catalog
