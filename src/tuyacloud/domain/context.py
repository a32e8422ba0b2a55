"""What every domain operation needs: the store, the clock, the id source, the catalog, the policies, what the
caller may see (its :class:`Scope`) and which automation runs caused the call (its causation chain), passed in
with the context rather than beside it: no context variable, nothing read from the task the call happens to run
in."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tuyacloud.clock import Clock
from tuyacloud.ids import IdSource
from tuyacloud.models import Automation, Device, HubCredential, Project
from tuyacloud.store.base import Queries, Store, Tx
from tuyacloud.supervision import TaskBoard

if TYPE_CHECKING:
    from tuyacloud.catalog.loader import Catalog


@dataclass(frozen=True)
class Policy:
    token_ttl_s: int = 7200
    token_grace_s: int = 0
    timestamp_window_s: int = 900
    asset_max_depth: int = 10
    asset_max_children: int = 5000
    password_scrypt_n: int = 1 << 14


@dataclass(frozen=True)
class Scope:
    """A user token's view: the asset ids it may see, and those it sees through a grant with children.

    Worked out by the gateway once per request, after authentication (``domain/access/visibility.py``); no scope
    (``None``) is the project's own token or a process-internal caller, which see the whole project.
    """

    uid: str
    asset_ids: frozenset[str]
    full: frozenset[str]  # covered by a grant with children: permission "all"
    # A smart-home app user's token: ``asset_ids`` are the homes the user is a member of; the user also sees the
    # devices they own (``owner_uid``) wherever those are.
    app_user: bool = False

    def sees(self, asset_id: str, owner_uid: str) -> bool:
        return asset_id in self.asset_ids or (self.app_user and owner_uid == self.uid)


@dataclass(frozen=True)
class StatusChange:
    """A committed status change: the device after it, its status before, the codes it reported, and the chain of
    automations whose runs caused it (``Context.causation`` of the call that made it; empty for a person's or a
    device's own doing)."""

    device: Device
    before: dict[str, Any]
    changes: dict[str, Any]
    causation: tuple[str, ...] = ()


@dataclass(frozen=True)
class HubSettings:
    """How clients reach the MQTT open hub's broker, and how long a credential lives (``ctx.openhub``: set by
    ``messaging/mqtt`` when the hub starts, read by ``domain/access/openhub.py`` when it issues a credential)."""

    enabled: bool = False
    port: int = 1883
    tls: bool = False
    ttl_s: int = 7200
    host: str | None = None  # host name put in the url; None: the host the config call was sent to
    # Called with a new credential and its password after it is stored and before the call answers: an external
    # broker creates the client there (messaging/mqtt/external.py).
    on_issue: Callable[[HubCredential, str], Awaitable[None]] | None = None


# --- services a running server hands the domain ------------------------------------------------------------------
# Each is built by a package above ``context`` (so the packages below it reach it through these protocols, not by
# importing it) and is None where it does not run (the CLI, a test's bare context).


class DeviceCapCheck(Protocol):
    """A project's device cap (``domain/projects/quotas.py``'s ``DeviceCap``), checked before devices are
    created and again in the unit of work that inserts them."""

    async def check(self, reader: Queries, adding: int) -> None: ...

    async def check_locked(self, tx: Tx, adding: int) -> None: ...


class QuotaService(Protocol):
    """Opt-in quotas and frequency limits of this process (``domain/projects/quotas.py``'s ``QuotaBook``): the
    gateway admits calls, the message hub counts messages, device creation asks for the cap."""

    async def device_cap(self, ctx: Context, project: Project, app_owner: str = "") -> DeviceCapCheck | None: ...

    def admit(self, access_id: str, api: str, now_ms: int) -> None: ...

    def message_sent(self, access_id: str, now_ms: int) -> None: ...

    def messages_left(self, access_id: str, now_ms: int) -> int: ...

    async def flush(self, ctx: Context) -> None: ...

    async def reload(self, ctx: Context, everything: bool = False) -> None: ...


class RuleService(Protocol):
    """The automation engine of this process (``domain/rules/engine.py``'s ``RuleEngine``): scene and automation
    runs, the rule index other writes invalidate, and its recent decisions."""

    @property
    def history(self) -> Iterable[dict[str, Any]]: ...

    def invalidate(self, automation_id: str = "") -> None: ...

    async def fire(self, automation: Automation, chain: tuple[str, ...], reason: str) -> bool: ...

    async def run_scene(self, scene_id: str, home_id: str, region: str, actions: list[dict[str, Any]],
                        chain: tuple[str, ...]) -> None: ...


@dataclass
class Context:
    store: Store
    clock: Clock
    ids: IdSource
    policy: Policy
    # Where :attr:`catalog` comes from: None for the packaged catalog (``catalog.loader.load_catalog``).
    catalog_source: Callable[[], Catalog] | None = None
    # Called with (device_id, region) after a command or an online change has committed: the simulator
    # listens so that a device it considers idle starts moving at once.
    listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    # Called after every committed status change (commands and reports alike), in the task that made it: the
    # automation engine evaluates device conditions on them. A listener must return at once (queue, not await).
    status_listeners: list[Callable[[StatusChange], None]] = field(default_factory=list)
    # The automation engine (domain/rules/engine.py) while the app runs: scene runs and the rule index.
    rules: RuleService | None = None
    # The background tasks of this process and how they fare (shown by /_tuyacloud/health).
    tasks: TaskBoard = field(default_factory=TaskBoard)
    # Commands committed since start, by where they came from (``commands.FROM_CLIENT`` "2": the OpenAPI or the
    # console; ``FROM_CLOUD`` "4": scenes, automations, timers). Plain integers: /metrics reads them at scrape time.
    commands_committed: dict[str, int] = field(default_factory=dict)

    def command_committed(self, source: str) -> None:
        self.commands_committed[source] = self.commands_committed.get(source, 0) + 1
    # The MQTT open-hub's settings: how config calls tell clients to connect (None: the hub is not running).
    openhub: HubSettings | None = None
    # Opt-in quotas and limits (domain/projects/quotas.py ``QuotaBook``) while the app runs; None in the CLI.
    quotas: QuotaService | None = None
    # What the caller may see: None for the project's token and for the process itself (the one shared context);
    # a user token's requests get their own copy of the context with its scope (:meth:`scoped`).
    scope: Scope | None = None
    # The automations whose runs led to this call, outermost first (``domain/rules/causation.py``): empty for a
    # request, a device report or a timer; an automation's run calls the domain with its chain (:meth:`caused_by`),
    # and the status changes it commits carry it to the automation engine, which refuses to close a loop.
    causation: tuple[str, ...] = ()

    @functools.cached_property
    def catalog(self) -> Catalog:
        """The device catalog, read the first time a call asks for it: most admin commands never look at a device
        category, and parsing the packaged one costs a CLI command about 90 ms (the server reads it at start)."""
        if self.catalog_source is not None:
            return self.catalog_source()
        from tuyacloud.catalog.loader import load_catalog

        return load_catalog()

    def scoped(self, scope: Scope | None) -> Context:
        """This context for a caller that sees ``scope``: the same store, clock, listeners and counters (shared,
        not copied), only the scope differs. The context itself when there is no scope to apply."""
        return self if scope is None else dataclasses.replace(self, scope=scope)

    def caused_by(self, chain: tuple[str, ...]) -> Context:
        """This context for work an automation run does: the same store, clock, listeners and counters, with the
        run's causation ``chain``. The context itself when the chain is already this one."""
        return self if chain == self.causation else dataclasses.replace(self, causation=chain)

    def notify(self, device_id: str, region: str) -> None:
        for listener in self.listeners:
            listener(device_id, region)

    def status_changed(self, change: StatusChange | None) -> None:
        if change is None or not change.changes:
            return
        for listener in self.status_listeners:
            listener(change)
