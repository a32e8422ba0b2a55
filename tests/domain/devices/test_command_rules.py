"""Commands in process against the store: a batch is validated whole before anything is written, and an accepted
command's status change and its outbox message are one unit of work (both or neither)."""

from __future__ import annotations

import pytest

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands, devices
from tuyacloud.domain.devices.requests import Command, SendCommands
from tuyacloud.errors import DeviceOffline, TuyaError
from tuyacloud.models import Device, Message, Project
from tuyacloud.store.base import Tx

pytestmark = pytest.mark.anyio

STATUS_REPORT = 4


async def light(ctx: Context, project: Project) -> Device:
    (made,) = await devices.create_virtual(ctx, project, category="dj")
    return made


async def last_seq(ctx: Context, project: Project) -> int:
    messages = await ctx.store.messages_after(project.access_id, 0, limit=1000)
    return messages[-1].seq if messages else 0


async def messages_since(ctx: Context, project: Project, seq: int) -> list[Message]:
    return await ctx.store.messages_after(project.access_id, seq, limit=1000)


async def status_of(ctx: Context, device: Device) -> dict[str, object]:
    stored = await ctx.store.get_device(device.id, device.region)
    assert stored is not None
    return stored.status


async def test_an_accepted_command_changes_the_status_and_appends_one_status_message(
        ctx: Context, custom_project: Project) -> None:
    device = await light(ctx, custom_project)
    before = await last_seq(ctx, custom_project)
    changed = await commands.send_commands(ctx, custom_project, device.id, SendCommands(commands=[
        Command("switch_led", False), Command("bright_value_v2", 300)]))
    assert changed["switch_led"] is False and changed["bright_value_v2"] == 300
    status = await status_of(ctx, device)
    assert status["switch_led"] is False and status["bright_value_v2"] == 300
    (message,) = await messages_since(ctx, custom_project, before)
    assert (message.protocol, message.device_id) == (STATUS_REPORT, device.id)
    reported = {item["code"]: item["value"] for item in message.data["status"]}
    assert reported["switch_led"] is False and reported["bright_value_v2"] == 300
    assert ctx.commands_committed == {commands.FROM_CLIENT: 1}


@pytest.mark.parametrize("bad", [
    Command("bright_value_v2", 5000),  # out of range
    Command("no_such_code", True),  # not in the instruction set
    Command("switch_led", "yes"),  # wrong type
])
async def test_one_bad_command_applies_none_of_the_batch(ctx: Context, custom_project: Project,
                                                         bad: Command) -> None:
    device = await light(ctx, custom_project)
    before_status = await status_of(ctx, device)
    before = await last_seq(ctx, custom_project)
    with pytest.raises(TuyaError):
        await commands.send_commands(ctx, custom_project, device.id,
                                     SendCommands(commands=[Command("switch_led", False), bad]))
    assert await status_of(ctx, device) == before_status
    assert await messages_since(ctx, custom_project, before) == []
    assert ctx.commands_committed == {}


async def test_an_offline_device_takes_no_command_and_emits_nothing(ctx: Context, custom_project: Project) -> None:
    device = await devices.set_online(ctx, await light(ctx, custom_project), False)
    before_status = await status_of(ctx, device)
    before = await last_seq(ctx, custom_project)
    with pytest.raises(DeviceOffline):
        await commands.send_commands(ctx, custom_project, device.id,
                                     SendCommands(commands=[Command("switch_led", False)]))
    assert await status_of(ctx, device) == before_status
    assert await messages_since(ctx, custom_project, before) == []


class Abandoned(Exception):
    pass


async def test_the_status_change_and_its_message_commit_or_roll_back_together(
        ctx: Context, custom_project: Project) -> None:
    device = await light(ctx, custom_project)
    product = commands.product_of(ctx, device)
    before_status = await status_of(ctx, device)
    before = await last_seq(ctx, custom_project)

    async def abandoned(tx: Tx) -> None:
        change = await commands.command_in_unit(ctx, tx, device, product, [("switch_led", False)])
        assert change is not None and change.changes["switch_led"] is False  # written inside the unit...
        raise Abandoned  # ...which then fails

    with pytest.raises(Abandoned):
        await ctx.store.transaction(abandoned)
    assert await status_of(ctx, device) == before_status
    assert await messages_since(ctx, custom_project, before) == []

    async def kept(tx: Tx) -> None:
        await commands.command_in_unit(ctx, tx, device, product, [("switch_led", False)])

    await ctx.store.transaction(kept)
    assert (await status_of(ctx, device))["switch_led"] is False
    (message,) = await messages_since(ctx, custom_project, before)
    assert message.data["status"][0]["code"] == "switch_led"
