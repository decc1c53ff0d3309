"""The seller's product list as the pipeline reads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    product_id: str
    title: str
    category: str
    images: tuple[str, ...]  # absolute paths
    description: str = ""
    parent_category: str = ""

    @property
    def text(self) -> str:
        """What the text encoder sees of this product."""
        return f"{self.title}. {self.description}".strip(". ").strip() if self.description else self.title


@dataclass
class Catalog:
    products: list[Product]
    root: str = ""

    def __len__(self) -> int:
        return len(self.products)

    @property
    def ids(self) -> list[str]:
        return [p.product_id for p in self.products]

    def index_of(self, product_id: str) -> int:
        return self.ids.index(product_id)

    def categories(self) -> dict[str, str]:
        """category -> parent_category (may be "")."""
        return {p.category: p.parent_category for p in self.products}
