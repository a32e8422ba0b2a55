"""Infrared remote types: the categories a virtual IR blaster's remotes can be, their standard keys, and the
ranges of an IR air conditioner.

Device knowledge is data (``infrared.json``): the category ids and names are the ones Tuya's IR control hub
answers, the keys are its documented standard IR commands. Read once per process; everything is immutable.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

AC_CATEGORY = 5  # "Air conditioner" in Tuya's IR category list; the v2.0 air-conditioner APIs take only these


@dataclass(frozen=True)
class IrKey:
    key: str
    key_id: int
    key_name: str
    standard_key: bool = True


@dataclass(frozen=True)
class IrCategory:
    category_id: int
    category_name: str
    keys: tuple[IrKey, ...]

    def key(self, key: str | None = None, key_id: int | None = None) -> IrKey | None:
        """The key named by its code or its id (both given: they must name the same key)."""
        for k in self.keys:
            if (key is None or k.key == key) and (key_id is None or k.key_id == key_id):
                return k
        return None


@dataclass(frozen=True)
class AcRanges:
    """What an IR air conditioner accepts: power 0/1, these modes, temperatures and wind speeds."""

    modes: tuple[tuple[int, str], ...]
    winds: tuple[tuple[int, str], ...]
    temp_min: int
    temp_max: int
    initial: dict[str, int]

    def limits(self) -> dict[str, tuple[int, int]]:
        return {"power": (0, 1), "mode": (self.modes[0][0], self.modes[-1][0]),
                "temp": (self.temp_min, self.temp_max), "wind": (self.winds[0][0], self.winds[-1][0])}


@dataclass(frozen=True)
class IrCatalog:
    categories: tuple[IrCategory, ...]
    ac: AcRanges

    def category(self, category_id: int) -> IrCategory | None:
        return next((c for c in self.categories if c.category_id == category_id), None)


def _parse(doc: dict[str, Any]) -> IrCatalog:
    categories = tuple(
        IrCategory(int(c["category_id"]), str(c["category_name"]),
                   tuple(IrKey(str(k["key"]), int(k["key_id"]), str(k["key_name"]), bool(k["standard_key"]))
                         for k in c["keys"]))
        for c in doc["categories"]
    )
    ac = doc["ac"]
    ranges = AcRanges(tuple((int(m), str(n)) for m, n in ac["modes"]), tuple((int(w), str(n)) for w, n in ac["winds"]),
                      int(ac["temp_min"]), int(ac["temp_max"]), {k: int(v) for k, v in ac["initial"].items()})
    return IrCatalog(categories, ranges)


@functools.cache
def load_infrared() -> IrCatalog:
    """The packaged IR catalog, read once per process."""
    text = resources.files("tuyacloud.catalog").joinpath("infrared.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))
