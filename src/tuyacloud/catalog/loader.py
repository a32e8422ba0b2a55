"""The device catalog: standard instruction sets per category and the virtual products built on them.

Device knowledge is data: ``categories/<code>.json`` hold Tuya's standard instruction sets
(converted from the shared reference by ``scripts/convert_catalog.py``), ``products/<category>.json`` the
default virtual product of each category. Validation, the simulator and the console all read these same
objects, so a fix to a range is made once, in a data file.

Everything here is immutable after loading and cheap to query: lookups are dict hits and the JSON string Tuya
sends as ``values`` is built once per DP, because the specification endpoints are on the hot path.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from tuyacloud.catalog.datapoints import DpSpec, validate_value


def _index(specs: Iterable[DpSpec]) -> dict[str, DpSpec]:
    return {spec.code: spec for spec in specs}


@dataclass(frozen=True)
class Category:
    """A category's standard instruction set (functions) and status set."""

    code: str
    name: str
    confidence: str
    functions: tuple[DpSpec, ...]
    status: tuple[DpSpec, ...]
    _functions: dict[str, DpSpec] = field(default_factory=dict, init=False, repr=False, compare=False)
    _status: dict[str, DpSpec] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_functions", _index(self.functions))
        object.__setattr__(self, "_status", _index(self.status))

    def __hash__(self) -> int:
        return hash(self.code)

    def function(self, code: str) -> DpSpec | None:
        return self._functions.get(code)

    def status_spec(self, code: str) -> DpSpec | None:
        return self._status.get(code)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Category:
        functions = tuple(DpSpec.from_dict(d) for d in doc.get("functions", []))
        status = tuple(DpSpec.from_dict(d) for d in doc.get("status", []))
        numbers: dict[str, int] = {}
        for spec in functions + status:
            if numbers.setdefault(spec.code, spec.dp_id) != spec.dp_id:
                raise ValueError(f"category {doc['code']}: {spec.code} has two dp_ids")
        if len(set(numbers.values())) != len(numbers):
            raise ValueError(f"category {doc['code']}: dp_ids are not unique")
        return cls(code=doc["code"], name=doc["name"], confidence=doc.get("confidence", "partial"),
                   functions=functions, status=status)


@dataclass(frozen=True, eq=False)
class Product:
    """A product: the subset of its category it exposes, its raw DPs, initial status and behaviours.

    ``initial`` and ``behaviours`` are shared by every device of the product: treat them as read-only.
    """

    product_id: str
    name: str
    category: str
    model: str
    icon: str
    functions: tuple[DpSpec, ...]
    status: tuple[DpSpec, ...]
    raw_dps: tuple[DpSpec, ...]
    initial: dict[str, Any]
    behaviours: tuple[dict[str, Any], ...]
    _functions: dict[str, DpSpec] = field(default_factory=dict, init=False, repr=False)
    _status: dict[str, DpSpec] = field(default_factory=dict, init=False, repr=False)
    _raw: dict[str, DpSpec] = field(default_factory=dict, init=False, repr=False)
    _all: tuple[DpSpec, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_functions", _index(self.functions))
        object.__setattr__(self, "_status", _index(self.status))
        object.__setattr__(self, "_raw", _index(self.raw_dps))
        standard = _index(self.status) | {c: s for c, s in self._functions.items() if c not in self._status}
        object.__setattr__(self, "_all", tuple(standard.values()) + self.raw_dps)

    def function(self, code: str) -> DpSpec | None:
        return self._functions.get(code)

    def status_spec(self, code: str) -> DpSpec | None:
        return self._status.get(code)

    def raw_dp(self, code: str) -> DpSpec | None:
        return self._raw.get(code)

    def spec(self, code: str) -> DpSpec | None:
        """Any DP of the product by code: standard status or function, or raw."""
        return self._status.get(code) or self._functions.get(code) or self._raw.get(code)

    def all_dps(self) -> tuple[DpSpec, ...]:
        """Standard status and functions (one entry per code, status order first), then raw DPs."""
        return self._all

    def state_codes(self) -> tuple[str, ...]:
        """The codes a device of this product keeps a current value for (status codes and raw DPs)."""
        return tuple(s.code for s in self.status) + tuple(s.code for s in self.raw_dps)

    def access_mode(self, code: str) -> str | None:
        """Thing-model access: ``rw`` (command and report), ``ro`` (report only), ``wr`` (command only)."""
        if code in self._raw:
            return self._raw[code].access
        writable, readable = code in self._functions, code in self._status
        if writable and readable:
            return "rw"
        if readable:
            return "ro"
        return "wr" if writable else None

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], category: Category) -> Product:
        def pick(codes: Iterable[str], lookup: Any, what: str) -> tuple[DpSpec, ...]:
            specs = []
            for code in codes:
                spec = lookup(code)
                if spec is None:
                    raise ValueError(f"{doc['product_id']}: {code} is not a {what} of {category.code}")
                specs.append(spec)
            return tuple(specs)

        product = cls(
            product_id=doc["product_id"], name=doc["name"], category=category.code,
            model=doc.get("model", ""), icon=doc.get("icon", ""),
            functions=pick(doc.get("functions", []), category.function, "function"),
            status=pick(doc.get("status", []), category.status_spec, "status code"),
            raw_dps=tuple(DpSpec.from_dict(d) for d in doc.get("raw_dps", [])),
            initial=dict(doc.get("initial", {})),
            behaviours=tuple(dict(b) for b in doc.get("behaviours", [])),
        )
        product._check()
        return product

    def _check(self) -> None:
        """Raw DPs must not shadow standard codes or numbers; initial values must be valid for their DPs."""
        standard = self._all[: len(self._all) - len(self.raw_dps)]
        taken_codes = {s.code for s in standard}
        taken_ids = {s.dp_id for s in standard}
        for raw in self.raw_dps:
            if raw.code in taken_codes or raw.dp_id in taken_ids or raw.access not in ("rw", "ro"):
                raise ValueError(f"product {self.product_id}: raw DP {raw.code} clashes or has a bad access")
            taken_codes.add(raw.code)
            taken_ids.add(raw.dp_id)
        for code, value in self.initial.items():
            spec = self.spec(code)
            if spec is None:
                raise ValueError(f"product {self.product_id}: initial value for unknown code {code}")
            validate_value(spec, value)


class Catalog:
    """All categories and products, indexed for the lookups the API and the simulator make."""

    def __init__(self, categories: Iterable[Category], products: Iterable[Product]) -> None:
        self._categories = {c.code: c for c in sorted(categories, key=lambda c: c.code)}
        self._products = {p.product_id: p for p in products}
        self._defaults: dict[str, Product] = {}
        for product in self._products.values():
            self._defaults.setdefault(product.category, product)

    @classmethod
    def from_data(cls, category_docs: Iterable[Mapping[str, Any]],
                  product_docs: Iterable[Mapping[str, Any]]) -> Catalog:
        """Build from parsed data files; the first product listed for a category is its default."""
        categories = {c.code: c for c in (Category.from_dict(d) for d in category_docs)}
        products = []
        for doc in product_docs:
            if doc.get("category") not in categories:
                raise ValueError(f"product {doc.get('product_id')}: unknown category {doc.get('category')!r}")
            products.append(Product.from_dict(doc, categories[doc["category"]]))
        return cls(categories.values(), products)

    def category(self, code: str) -> Category | None:
        return self._categories.get(code)

    def categories(self) -> list[Category]:
        """Every category, sorted by code."""
        return list(self._categories.values())

    def product(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def default_product(self, category: str) -> Product | None:
        return self._defaults.get(category)

    def products(self) -> list[Product]:
        return list(self._products.values())


def _read_json_dir(name: str) -> list[dict[str, Any]]:
    """Every ``*.json`` in a package data directory, in file-name order; a file may hold one doc or a list."""
    docs: list[dict[str, Any]] = []
    folder = resources.files("tuyacloud.catalog").joinpath(name)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            doc = json.loads(entry.read_text(encoding="utf-8"))
            docs.extend(doc if isinstance(doc, list) else [doc])
    return docs


@functools.cache
def load_catalog() -> Catalog:
    """The packaged catalog, read once per process (the data files never change while running)."""
    return Catalog.from_data(_read_json_dir("categories"), _read_json_dir("products"))
