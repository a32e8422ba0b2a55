"""What every domain operation needs: the store, the clock, the id source, the catalog and the policies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tuyacloud.catalog.loader import Catalog
from tuyacloud.clock import Clock
from tuyacloud.ids import IdSource
from tuyacloud.store.base import Store


@dataclass(frozen=True)
class Policy:
    token_ttl_s: int = 7200
    token_grace_s: int = 60
    timestamp_window_s: int = 900
    asset_max_depth: int = 10
    asset_max_children: int = 5000
    password_scrypt_n: int = 1 << 14


@dataclass
class Context:
    store: Store
    clock: Clock
    ids: IdSource
    catalog: Catalog
    policy: Policy
    # Called with (device_id, region) after a command or an online change has committed: the simulator
    # listens so that a device it considers idle starts moving at once.
    listeners: list[Callable[[str, str], None]] = field(default_factory=list)

    def notify(self, device_id: str, region: str) -> None:
        for listener in self.listeners:
            listener(device_id, region)
