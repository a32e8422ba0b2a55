"""The open hub's view of many links at once, in process: the scopes it reads for a thousand links in a few queries
(``openhub.scopes_of``, one read of the project's grants once there are many users) are the scopes each user's own
token gets (``visibility.for_user``), and the index it finds a message's links with (``openhub.Audience``) gives
exactly the links ``openhub.may_see`` accepts, for placed devices and for delete events judged by their binding. App
users' homes are read at once the same way (``visibility.for_app_user`` for each is the reference)."""

from __future__ import annotations

from hashlib import sha256

import pytest

from support.home_domain import APP_SCHEMA, home_of
from tuyacloud import bodies
from tuyacloud.domain.access import openhub, visibility
from tuyacloud.domain.context import Context, Scope
from tuyacloud.domain.industry import assets, authorization, users
from tuyacloud.domain.smarthome import homes
from tuyacloud.domain.smarthome.requests import AddMember
from tuyacloud.models import HubCredential, Project

pytestmark = pytest.mark.anyio


def _credential(project: Project, n: int, uid: str, kind: str) -> HubCredential:
    return HubCredential(username=f"cloud_{n}", access_id=project.access_id, region=project.region,
                         link_id=f"link.{n}", client_id=f"link.{n}_x", uid=uid, token_kind=kind, password_hash="",
                         message_key="k" * 16, topic=f"cloud/token/in/{n}", version="2.0", created_ms=0,
                         expires_ms=1)


async def test_many_users_scopes_read_at_once_are_each_users_own(ctx: Context, custom_project: Project) -> None:
    building = await assets.add(ctx, custom_project, "Building")
    floor = await assets.add(ctx, custom_project, "Floor", building.id)
    room = await assets.add(ctx, custom_project, "Room", floor.id)
    warehouse = await assets.add(ctx, custom_project, "Warehouse")
    choices = [([building.id], True), ([building.id], False), ([floor.id], True), ([room.id, warehouse.id], False),
               ([], False)]
    credentials = [_credential(custom_project, 0, custom_project.uid, "project")]
    uids = []
    for n in range(openhub.BULK_GRANTS + 5):  # more users than the bulk read's threshold
        made = await users.register(ctx, custom_project, username=f"u{n}", password=sha256(b"s").hexdigest())
        asset_ids, children = choices[n % len(choices)]
        if asset_ids:
            await authorization.authorize(ctx, custom_project, made.id, asset_ids, children)
        uids.append(made.id)
        credentials.append(_credential(custom_project, n + 1, made.id, "user"))
    credentials.append(_credential(custom_project, 999, uids[2], "user"))  # a second link of one user

    scopes = await openhub.scopes_of(ctx, credentials)
    assert scopes["cloud_0"] is None
    for c in credentials[1:]:
        assert scopes[c.username] == await visibility.for_user(ctx, custom_project, c.uid), c.uid
    assert scopes["cloud_3"] == scopes["cloud_999"]
    assert scopes["cloud_1"] is not None and scopes["cloud_1"].asset_ids == {building.id, floor.id, room.id}
    few = await openhub.scopes_of(ctx, credentials[:4])  # below the threshold: read user by user, same answer
    assert few == {c.username: scopes[c.username] for c in credentials[:4]}


async def test_many_app_users_homes_read_at_once_are_each_users_own(ctx: Context,
                                                                      smart_home_project: Project) -> None:
    members = []
    for n in range(openhub.BULK_GRANTS + 5):
        home, user, _ = await home_of(ctx, smart_home_project, f"app{n}@example.com")
        members.append((home, user))
    # some users are members of a neighbour's home too; the last has left every home
    for (home, _), (_, neighbour) in zip(members[::3], members[1::3], strict=False):
        await homes.add_member(ctx, smart_home_project, home.id, bodies.convert(AddMember, {
            "app_schema": APP_SCHEMA, "member": {"member_account": neighbour.username, "name": neighbour.username}}))
    await ctx.store.transaction(lambda tx: tx.delete_home(members[-1][0].id))
    credentials = [_credential(smart_home_project, n, user.id, "app_user") for n, (_, user) in enumerate(members)]

    scopes = await openhub.scopes_of(ctx, credentials)
    for c in credentials:
        assert scopes[c.username] == await visibility.for_app_user(ctx, c.uid), c.uid
    assert len(scopes[credentials[1].username].asset_ids) == 2  # type: ignore[union-attr]
    assert scopes[credentials[-1].username].asset_ids == frozenset()  # type: ignore[union-attr]


def test_the_index_gives_exactly_the_links_may_see_accepts() -> None:
    scopes: dict[str, Scope | None] = {
        "project": None,
        "a": Scope("ua", frozenset({"A1", "A2"}), frozenset()),
        "b": Scope("ub", frozenset({"A2"}), frozenset()),
        "home": Scope("hal", frozenset({"H1"}), frozenset(), app_user=True),
        "owner": Scope("ivy", frozenset({"H2"}), frozenset(), app_user=True),
        "nothing": Scope("uz", frozenset(), frozenset()),
    }
    audience: openhub.Audience[str] = openhub.Audience()
    for key, scope in scopes.items():
        audience.put(key, key, scope)
    placements: list[tuple[str, str] | None] = [("A1", ""), ("A2", ""), ("H1", "hal"), ("H1", "ivy"), ("X", "ivy"),
                                                ("X", "ua"), ("", ""), None]
    events = [{}, {"bizData": {"ownerId": "A1", "uid": ""}}, {"bizData": {"ownerId": "H2", "uid": "hal"}},
              {"bizData": {"ownerId": "ivy"}}, {"bizData": "not an object"}]

    def check() -> None:
        for placement in placements:
            for data in events:
                expected = {k for k, s in scopes.items() if openhub.may_see(s, placement, data)}
                assert set(audience.recipients(placement, data)) == expected, (placement, data)

    check()
    # a scope read again replaces the old one; a removed link is gone from every entry
    scopes["b"] = Scope("ub", frozenset({"A1"}), frozenset())
    audience.put("b", "b", scopes["b"])
    del scopes["owner"]
    audience.remove("owner")
    check()
    assert audience.scoped and len(audience) == 5
    for key in [k for k in scopes if k != "project"]:
        audience.remove(key)
    assert not audience.scoped and audience.recipients(("A1", ""), {}) == ["project"]
