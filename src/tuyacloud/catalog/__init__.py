"""Device knowledge as data: standard instruction sets per category and the virtual products built on them."""

from tuyacloud.catalog.datapoints import DpSpec
from tuyacloud.catalog.loader import Catalog, Category, Product, load_catalog

__all__ = ["Catalog", "Category", "DpSpec", "Product", "load_catalog"]
