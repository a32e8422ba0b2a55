"""Status changes: commands, shadow property issues and device reports, each with its log and message.

Validation happens before any write and covers the whole batch (one bad command applies none). The status
change, the device log rows and the protocol-4 message are written in one unit of work, so an accepted command
always has its message and no message exists for a change that was not committed.

A client's command (:func:`send_commands`, :func:`issue_properties`) is checked inside its unit of work, against
the device as the unit reads it for update: one read of the device per command, where a read before the unit and
another inside it cost two (on PostgreSQL the first was a query of its own, the second is shared by the whole batch).
The checks run in the order a read before the unit ran them, so every refusal is the same; a refused command writes
nothing. A device that belongs to an app linked to the project (not to the project itself) is checked the general
way, with the read before the unit, since its ownership needs a read of the project's links.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from tuyacloud import limits
from tuyacloud.catalog.behaviours import apply_commands
from tuyacloud.catalog.datapoints import validate_value
from tuyacloud.catalog.loader import Product
from tuyacloud.catalog.validation import check_commands, validate_properties
from tuyacloud.domain.context import Context, StatusChange
from tuyacloud.domain.devices import events, outbox
from tuyacloud.domain.devices.devices import found, get_owned, refuse_if_frozen, refuse_if_hidden
from tuyacloud.domain.devices.requests import IssueProperties, SendCommands
from tuyacloud.errors import (
    CommandNotSupported,
    DeviceNotExist,
    DeviceNotSupported,
    DeviceOffline,
    ParamIllegal,
)
from tuyacloud.models import Device, DeviceLog, Project
from tuyacloud.store.base import Tx

FROM_DEVICE, FROM_CLIENT, FROM_CLOUD = "1", "2", "4"
EVENT_COMMAND, EVENT_REPORT = 5, 7
_NONE = object()


def product_of(ctx: Context, device: Device) -> Product:
    product = ctx.catalog.product(device.product_id)
    if product is None:
        raise DeviceNotSupported(f"product {device.product_id} of device {device.id} is unknown")
    return product


async def _write_changes(
    ctx: Context,
    tx: Tx,
    device_id: str,
    region: str,
    product: Product,
    commands: list[tuple[str, Any]] | None,
    changes_of: Callable[[Device], dict[str, Any]],
    event_from: str,
) -> StatusChange | None:
    """Re-read the device inside the unit (serialised with other writers), apply, log and emit."""
    device = await tx.get_device_for_update(device_id, region)
    if device is None:
        raise DeviceNotExist()
    return await _apply(ctx, tx, device, product, commands, changes_of(device), event_from)


async def _apply(ctx: Context, tx: Tx, device: Device, product: Product, commands: list[tuple[str, Any]] | None,
                 changes: dict[str, Any], event_from: str) -> StatusChange | None:
    """Write ``changes`` to ``device`` (read for update by this unit), with its log rows and its message."""
    now = ctx.clock.now_ms()  # after the lock: a later commit never carries an earlier report time
    if not changes and not commands:
        return None
    before = dict(device.status)
    device.status.update(changes)
    for code in changes:
        device.status_t[code] = now
    await tx.update_device_status(device.id, device.status, device.status_t, now)
    # Each value is rendered once: the command's log row, the report's log row and the report message share it.
    texts = {code: events.dp_string(value) for code, value in changes.items()}
    logs = [DeviceLog(device.id, now, EVENT_COMMAND, c, texts[c] if changes.get(c, _NONE) is v else events.dp_string(v),
                      event_from) for c, v in commands or ()]
    logs += [DeviceLog(device.id, now, EVENT_REPORT, c, texts[c], FROM_DEVICE) for c in changes]
    await tx.insert_device_logs(logs)
    if changes:
        await outbox.emit(tx, events.status_report(device, product, changes, now, ctx.ids.unique_hex(), texts))
    return StatusChange(device, before, changes, ctx.causation)


async def _command(ctx: Context, device: Device, product: Product, commands: list[tuple[str, Any]],
                   event_from: str) -> dict[str, Any]:
    def changes_of(current: Device) -> dict[str, Any]:
        refuse_if_frozen(current)
        if not current.online:
            raise DeviceOffline()
        changed = apply_commands(product, current.status, commands)
        # A device reports every commanded code, even when the value did not change.
        return {**dict(commands), **changed}

    async def work(tx: Tx) -> StatusChange | None:
        return await _write_changes(ctx, tx, device.id, device.region, product, commands, changes_of, event_from)

    change = await ctx.store.transaction(work, devices=[(device.id, device.region)])
    ctx.command_committed(event_from)
    ctx.notify(device.id, device.region)
    ctx.status_changed(change)
    return change.changes if change else {}


class _Linked:
    """What a command's unit returns, having written nothing, for a device the project sees through a linked app."""


Check = Callable[[Product], list[tuple[str, Any]]]


async def _checked_command(ctx: Context, project: Project, device_id: str, check: Check,
                           event_from: str) -> dict[str, Any]:
    """A client's command, checked against the device its unit reads for update (see the module's docstring)."""

    def checked(device: Device) -> tuple[Product, list[tuple[str, Any]]]:
        """After ownership: refuse_if_frozen, product_of, the batch's own checks and the online check, in that
        order, with their words (as the general path ran them)."""
        refuse_if_frozen(device)
        product = product_of(ctx, device)
        commands = check(product)
        if not device.online:
            raise DeviceOffline()
        return product, commands

    async def work(tx: Tx) -> StatusChange | _Linked:
        device = found(await tx.get_device_for_update(device_id, project.region), device_id)
        if device.access_id != project.access_id:
            return _Linked()  # ownership needs the project's links: not read inside a unit
        refuse_if_hidden(ctx, device)
        product, commands = checked(device)
        change = await _apply(ctx, tx, device, product, commands,
                              {**dict(commands), **apply_commands(product, device.status, commands)}, event_from)
        assert change is not None  # commands are never empty
        return change

    change = await ctx.store.transaction(work, devices=[(device_id, project.region)])
    if isinstance(change, _Linked):
        device = await get_owned(ctx, project, device_id)
        return await _command(ctx, device, *checked(device), event_from)
    ctx.command_committed(event_from)
    ctx.notify(change.device.id, change.device.region)
    ctx.status_changed(change)
    return change.changes


async def send_commands(ctx: Context, project: Project, device_id: str, body: SendCommands,
                        event_from: str = FROM_CLIENT) -> dict[str, Any]:
    """``{"commands": [{"code", "value"}]}`` checked against the device's instruction set, then applied."""
    pairs = body.pairs()
    return await _checked_command(ctx, project, device_id, lambda product: check_commands(product, pairs), event_from)


async def issue_properties(ctx: Context, project: Project, device_id: str, body: IssueProperties) -> dict[str, Any]:
    """v2.0 shadow issue: ``{"properties": "<JSON object as a string>"}`` (an object is accepted too)."""
    raw: Any = body.properties
    if isinstance(raw, str):
        limits.check_json(raw, "properties")
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParamIllegal("properties must be a JSON object encoded as a string") from exc
    if not isinstance(raw, dict) or not raw:
        raise ParamIllegal("properties must be a non-empty JSON object")
    properties: dict[str, Any] = raw
    return await _checked_command(ctx, project, device_id, lambda product: validate_properties(product, properties),
                                  FROM_CLIENT)


def validate_report(product: Product, changes: dict[str, Any]) -> dict[str, Any]:
    """A device may report any of its status codes or raw DPs (not only writable functions)."""
    specs = {s.code: s for s in product.all_dps()}
    valid: dict[str, Any] = {}
    for code, value in changes.items():
        spec = specs.get(code)
        if spec is None:
            raise CommandNotSupported(f"{code} is not a data point of this device; known: {', '.join(specs)}")
        valid[code] = validate_value(spec, value)
    return valid


async def report(ctx: Context, device: Device, changes: dict[str, Any], *, validate: bool = True) -> dict[str, Any]:
    """A device's own report (virtual behaviour, injected through the control API): only changed codes emit."""
    product = product_of(ctx, device)
    values = validate_report(product, changes) if validate else changes

    def changes_of(current: Device) -> dict[str, Any]:
        return {k: v for k, v in values.items() if current.status.get(k, object()) != v or validate}

    async def work(tx: Tx) -> StatusChange | None:
        return await _write_changes(ctx, tx, device.id, device.region, product, None, changes_of, FROM_DEVICE)

    change = await ctx.store.transaction(work, devices=[(device.id, device.region)])
    ctx.status_changed(change)
    return change.changes if change else {}


async def command_in_unit(ctx: Context, tx: Tx, device: Device, product: Product, commands: list[tuple[str, Any]],
                          event_from: str = FROM_CLOUD) -> StatusChange | None:
    """A validated command written inside the caller's unit of work, for runs the cloud makes itself (a timer
    commits its run claim and its command together). Raises :class:`DeviceOffline` (or ``DeviceFrozen``) before any
    write; the caller calls ``ctx.notify`` and ``ctx.status_changed`` after its commit."""

    def changes_of(current: Device) -> dict[str, Any]:
        refuse_if_frozen(current)
        if not current.online:
            raise DeviceOffline()
        return {**dict(commands), **apply_commands(product, current.status, commands)}

    return await _write_changes(ctx, tx, device.id, device.region, product, commands, changes_of, event_from)
