"""Read-only compositions the console shows on one page (an app with its users and their homes; the users' user
codes and their Home Assistant QR logins waiting for approval; a device with its gateway, sub-devices and infrared
remotes). Kept in the domain so the console's handlers stay parse-and-render; the shapes the control API and the
CLI answer are in ``views.py``. The users of a custom project with their grants are in
``industry/authorization.py``, which the CLI's ``user`` commands read without importing all of these."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuyacloud.catalog.infrared import AC_CATEGORY, IrCategory, load_infrared
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices, infrared
from tuyacloud.domain.industry import assets
from tuyacloud.domain.pairing import gateways
from tuyacloud.domain.smarthome import apps, sharing
from tuyacloud.errors import TuyaError
from tuyacloud.models import (
    App,
    AppUser,
    Asset,
    Device,
    Home,
    InfraredRemote,
    Project,
    QrLogin,
)

PAGE = 200


@dataclass
class AppUserView:
    user: AppUser
    homes: list[tuple[Home, str]]  # (home, the user's role)


@dataclass
class LinkedApp:
    app: App
    projects: list[str]
    users: list[AppUserView] = field(default_factory=list)
    user_count: int = 0


async def sharing_logins(ctx: Context, uids: list[str]) -> tuple[dict[str, str], list[tuple[QrLogin, AppUser | None]]]:
    """The apps page's sharing card: the user codes of these users, and their QR logins waiting for approval."""
    codes = {uid: await sharing.user_code(ctx, uid) for uid in uids}
    return codes, await sharing.pending(ctx, uids)


async def linked_apps(ctx: Context, project: Project, users_per_app: int = PAGE) -> list[LinkedApp]:
    """The apps linked to a smart-home project, each with its first users and their homes."""
    out = []
    for schema in await ctx.store.linked_schemas(project.access_id):
        app = await apps.get(ctx, schema)
        found, _, total = await apps.page_users(ctx, project, schema, 1, users_per_app)
        views = [AppUserView(u, await ctx.store.homes_of_user(u.id)) for u in found]
        out.append(LinkedApp(app, await ctx.store.app_links(schema), views, total))
    return out


async def home_choices(ctx: Context, project: Project) -> list[tuple[str, str, str]]:
    """(home id, owner uid, label) of every home of the project's linked apps' users: where a console-added
    virtual device of a smart-home project can go."""
    choices = []
    for linked in await linked_apps(ctx, project):
        for view in linked.users:
            for home, role in view.homes:
                if role == "OWNER" or home.owner_uid == view.user.id:
                    label = f"{home.name} — {view.user.username} ({linked.app.name})"
                    choices.append((home.id, view.user.id, label))
    return choices


async def asset_tree(ctx: Context, project: Project) -> tuple[list[tuple[Asset, int, str]], dict[str, int]]:
    """Every asset in depth-first order as (asset, depth, full name), and the device count at each."""
    found, counts = await assets.tree_with_counts(ctx, project)
    children: dict[str, list[Asset]] = {}
    for asset in found:
        children.setdefault(asset.parent_id, []).append(asset)
    by_id = {a.id: a for a in found}
    ordered: list[tuple[Asset, int, str]] = []

    def walk(parent: str, depth: int) -> None:
        for asset in children.get(parent, []):
            ordered.append((asset, depth, assets.full_name(by_id, asset)))
            walk(asset.id, depth + 1)

    walk("-1", 0)
    seen = {a.id for a, _, _ in ordered}
    ordered += [(a, 0, a.name) for a in found if a.id not in seen]  # orphans, should there be any
    return ordered, counts


# --- a device's links: gateway and sub-devices, infrared remotes ---------------------------------------------
GATEWAY_CATEGORIES = gateways.GATEWAY_CATEGORIES
BLASTER_CATEGORY = infrared.BLASTER_CATEGORY


@dataclass
class RemoteView:
    remote: InfraredRemote
    category: IrCategory
    settings: list[tuple[str, str]]  # what its key presses set, in words: ("Power", "on"), ("Mode", "Cooling mode")


@dataclass
class DeviceLinks:
    """What a device's page shows beyond its own record. ``sub_devices`` is None for a device that is not a
    gateway and ``remotes`` None for one that is not an IR blaster (an empty list: one that has none yet)."""

    is_gateway: bool
    gateway_categories: frozenset[str] = GATEWAY_CATEGORIES  # no gateway is another one's sub-device
    gateway: Device | None = None  # a sub-device's gateway (None when directly connected)
    sub_devices: list[Device] | None = None
    remotes: list[RemoteView] | None = None


async def device_links(ctx: Context, project: Project, device: Device) -> DeviceLinks:
    """The gateway a sub-device reaches the cloud through, a gateway's sub-devices and an IR blaster's remotes,
    read through the same domain functions as the OpenAPI (so the console sees what a client sees)."""
    links = DeviceLinks(is_gateway=gateways.is_gateway(device))
    if device.gateway_id:
        try:
            links.gateway = await devices.get_owned(ctx, project, device.gateway_id)
        except TuyaError:  # removed meanwhile (its sub-devices go with it): the page shows the id alone
            links.gateway = None
    if links.is_gateway:
        links.sub_devices = await gateways.sub_devices(ctx, project, device.id)
    if device.category == BLASTER_CATEGORY:
        links.remotes = [remote_view(r) for r in await infrared.remotes(ctx, project, device.id)]
    return links


def remote_view(remote: InfraredRemote) -> RemoteView:
    """A remote with its type and its state in the catalogue's words (an air conditioner's mode and wind speed
    are numbers in the store and in the OpenAPI's answers)."""
    catalog = load_infrared()
    state = remote.state
    settings: list[tuple[str, str]] = []
    if "power" in state:
        settings.append(("Power", "on" if state["power"] else "off"))
    if remote.category_id == AC_CATEGORY:
        modes, winds = dict(catalog.ac.modes), dict(catalog.ac.winds)
        if "mode" in state:
            settings.append(("Mode", modes.get(state["mode"], str(state["mode"]))))
        if "temp" in state:
            settings.append(("Temperature", f"{state['temp']} °C"))
        if "wind" in state:
            settings.append(("Wind", winds.get(state["wind"], str(state["wind"]))))
    return RemoteView(remote, infrared.category_of(remote), settings)
