"""Every list endpoint of assets, users and authorisations walks a 1,000-item collection to the end, without
duplicates or gaps (its own server: a cheap scrypt cost so that 1,000 registrations are quick; the collections
are made through the domain in the server's process, the walks are signed HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from support.custom import add_asset, login, ok, sha, walk
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.domain.context import Context
from tuyacloud.domain.industry import assets, authorization, users
from tuyacloud.domain.projects import projects

N = 1000


@dataclass
class Big:
    server: CloudServer
    c: SignedClient
    parent: str
    children: list[str]
    devices: list[str]
    users: list[str]


async def _bulk(ctx: Context, access_id: str, parent_id: str) -> tuple[list[str], list[str]]:
    """The 1,000 child assets and the 1,000 users granted the parent, through the same domain functions the
    routes call (a few at a time, as concurrent requests would): the paging under test stays over HTTP."""
    project = await projects.get(ctx, access_id)

    async def child(i: int) -> str:
        return (await assets.add(ctx, project, f"Child {i:04d}", parent_id)).id

    async def user(i: int) -> str:
        uid = (await users.register(ctx, project, username=f"user{i:04d}", password=sha("secret"),
                                    country_code="1")).id
        await authorization.authorize(ctx, project, uid, [parent_id], False)
        return uid

    children: list[str] = []
    made: list[str] = []
    for start in range(0, N, 50):
        children += await asyncio.gather(*(child(i) for i in range(start, start + 50)))
        made += await asyncio.gather(*(user(i) for i in range(start, start + 50)))
    return children, made


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    server = CloudServer(tmp_path_factory.mktemp("paging"), password_scrypt_n=2).start()
    try:
        project = server.create_project(name="Paging")
        c = SignedClient(server.url, project["access_id"], project["access_secret"])
        ok(c.connect())
        parent = add_asset(c, "Parent")
        children, made = server.in_domain(lambda ctx: _bulk(ctx, project["access_id"], parent))
        devices = [d["id"] for d in server.control("POST", f"/projects/{project['access_id']}/devices",
                                                   {"category": "dj", "count": N, "asset_id": parent})]
        yield Big(server, c, parent, children, devices, made)
    finally:
        server.stop()


def _assert_exact(found: list[str], expected: list[str]) -> None:
    assert len(found) == len(set(found)), "duplicates"
    assert set(found) == set(expected), "gaps"


def test_asset_lists_walk_to_the_end(big: Big) -> None:
    c = big.c
    sub = walk(lambda k: ok(c.get(f"/v1.0/iot-02/assets/{big.parent}/sub-assets",
                                  {"last_row_key": k, "page_size": 100})))
    _assert_exact([a["asset_id"] for a in sub], big.children)
    sub3 = walk(lambda k: ok(c.get(f"/v1.0/iot-03/assets/{big.parent}/sub-assets",
                                   {"last_row_key": k, "page_size": 37})), more="has_more")
    _assert_exact([a["asset_id"] for a in sub3], big.children)
    search = walk(lambda k: ok(c.get("/v1.1/iot-02/assets", {"asset_name": "Child", "last_row_key": k,
                                                             "page_size": 100})))
    _assert_exact([a["asset_id"] for a in search], big.children)
    listed = walk(lambda k: ok(c.get("/v1.0/iot-03/assets", {"asset_name": "Child", "last_row_key": k,
                                                             "page_size": 100})), more="has_more")
    _assert_exact([a["asset_id"] for a in listed], big.children)
    cross = walk(lambda k: ok(c.post("/v1.1/iot-02/cross-level-sub-assets",
                                     {"asset_id": big.parent, "last_row_key": k, "page_size": 100})))
    _assert_exact([a["asset_id"] for a in cross], big.children)


def test_device_lists_by_asset_walk_to_the_end(big: Big) -> None:
    c = big.c
    at = walk(lambda k: ok(c.get(f"/v1.0/iot-02/assets/{big.parent}/devices",
                                 {"last_row_key": k, "page_size": 100})))
    _assert_exact([d["device_id"] for d in at], big.devices)
    by_source = walk(lambda k: ok(c.get("/v1.3/iot-03/devices", {"source_type": "asset", "source_id": big.parent,
                                                                 "last_row_key": k, "page_size": 200})),
                     more="has_more")
    _assert_exact([d["id"] for d in by_source], big.devices)


def test_user_lists_walk_to_the_end(big: Big) -> None:
    c = big.c
    for path in ("/v1.0/iot-02/users", "/v1.1/iot-02/users"):
        rows = walk(lambda k, path=path: ok(c.get(path, {"last_row_key": k, "page_size": 100})))
        _assert_exact([u["user_id"] for u in rows], big.users)
    numbered: list[str] = []
    page_no = 1
    while True:
        page = ok(c.get("/v1.1/iot-02/users/page", {"page_no": page_no, "page_size": 64}))
        numbered += [u["user_id"] for u in page["list"]]
        assert page["records_count"] == N and page["page_count"] == 16
        if page_no >= page["page_count"]:
            break
        page_no += 1
    _assert_exact(numbered, big.users)


def test_authorisation_lists_walk_to_the_end(big: Big) -> None:
    c = big.c
    on_asset: list[str] = []
    for page_no in range(1, N // 20 + 2):
        page = ok(c.get(f"/v1.0/iot-03/{big.parent}/authorized_users", {"page_no": page_no, "page_size": 20}))
        assert page["total"] == N
        on_asset += [u["uid"] for u in page["data"]]
    _assert_exact(on_asset, big.users)
    uid = big.users[0]
    for start in range(0, N, 100):
        ok(c.post(f"/v1.0/iot-03/users/{uid}/actions/batch-assets-authorized",
                  {"asset_ids": ",".join(big.children[start:start + 100]), "authorized_children": False}))
    theirs: list[str] = []
    page_no, more = 1, True
    while more:
        page = ok(c.get(f"/v1.0/iot-03/users/{uid}/assets", {"page_no": page_no, "page_size": 100}))
        theirs += [a["asset_id"] for a in page["list"]]
        more, page_no = page["has_more"], page_no + 1
    _assert_exact(theirs, [big.parent, *big.children])
    # the user's own view, one level at a time: the parent on top, its 1,000 children below it
    user = login(c, "user0000")
    top = ok(user.get("/v1.0/iot-03/users/assets"))
    assert [(a["asset_id"], a["current_asset_device_num"]) for a in top["assets"]] == [(big.parent, N)]
    mine: list[str] = []
    page_no, more = 1, True
    while more:
        page = ok(user.get("/v1.0/iot-03/users/assets", {"parent_asset_id": big.parent, "page_no": page_no,
                                                         "page_size": 100}))
        mine += [a["asset_id"] for a in page["assets"]]
        more, page_no = page["has_more"], page_no + 1
    _assert_exact(mine, big.children)
    devices = walk(lambda k: ok(user.get("/v1.3/iot-03/devices", {"last_row_key": k, "page_size": 200})),
                   more="has_more")
    _assert_exact([d["id"] for d in devices], big.devices)
