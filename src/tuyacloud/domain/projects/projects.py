"""Cloud projects: creation, credentials, IP allowlist and API service authorisation."""

from __future__ import annotations

import dataclasses
import ipaddress

from tuyacloud.domain.context import Context
from tuyacloud.domain.industry import assets
from tuyacloud.domain.projects import services
from tuyacloud.errors import ClientIdInvalid, IpNotAllowed, ParamIllegal, PermissionDeny
from tuyacloud.models import METHODS, Project
from tuyacloud.regions import REGIONS
from tuyacloud.store.base import Tx


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise ParamIllegal("project name must be 1 to 64 characters")
    return name


def parse_allowlist(entries: list[str]) -> list[str]:
    """Addresses or CIDR networks, normalised; a bad entry is refused rather than silently ignored."""
    normalised = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            normalised.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError as exc:
            raise ParamIllegal(f"not an IP address or network: {entry!r}") from exc
    return normalised


async def create(
    ctx: Context,
    *,
    name: str,
    region: str,
    method: str,
    description: str = "",
    industry: str = "",
    service_codes: list[str] | None = None,
) -> Project:
    if region not in REGIONS:
        raise ParamIllegal(f"unknown data center {region!r}; one of {', '.join(REGIONS)}")
    if method not in METHODS:
        raise ParamIllegal(f"development method must be one of {', '.join(METHODS)}")
    try:
        codes = services.normalise(service_codes) if service_codes is not None else services.default_services()
    except ValueError as exc:
        raise ParamIllegal(str(exc)) from exc
    now = ctx.clock.now_ms()
    project = Project(
        access_id=ctx.ids.access_id(),
        access_secret=ctx.ids.access_secret(),
        region=region,
        name=_check_name(name),
        description=description.strip()[:255],
        method=method,
        industry=industry.strip()[:64],
        uid=ctx.ids.uid(REGIONS[region].uid_prefix),
        created_ms=now,
        updated_ms=now,
        services=codes,
    )

    async def work(tx: Tx) -> None:
        await tx.insert_project(project)

    await ctx.store.transaction(work)
    await assets.ensure_root(ctx, project)  # custom projects: the root asset named after the project
    return project


async def get(ctx: Context, access_id: str) -> Project:
    project = await ctx.store.get_project(access_id)
    if project is None:
        raise ClientIdInvalid(f"no project with Access ID {access_id!r}")
    return project


async def for_request(ctx: Context, access_id: str, region: str) -> Project:
    """The project a request names, refusing credentials that belong to another data center."""
    project = await ctx.store.get_project(access_id)
    if project is None:
        raise ClientIdInvalid()
    if project.region != region:
        home = REGIONS[project.region]
        raise PermissionDeny(
            f"this project belongs to the {home.code} data center ({home.name}); call {home.openapi_url}"
        )
    return project


def check_ip(project: Project, address: str) -> None:
    if not project.allowlist_enabled:
        return
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise IpNotAllowed(address) from exc
    if not any(ip in ipaddress.ip_network(n) for n in project.allowlist):
        raise IpNotAllowed(address)


async def _save(ctx: Context, project: Project) -> Project:
    project.updated_ms = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        await tx.update_project(project)

    await ctx.store.transaction(work)
    return project


async def rotate_secret(ctx: Context, access_id: str) -> Project:
    """A new Access Secret; tokens already issued stay valid until they expire (as on the platform)."""
    project = dataclasses.replace(await get(ctx, access_id))  # the store may hand out a shared cached row
    project.access_secret = ctx.ids.access_secret()
    return await _save(ctx, project)


async def set_allowlist(ctx: Context, access_id: str, enabled: bool, entries: list[str] | None) -> Project:
    project = dataclasses.replace(await get(ctx, access_id))  # the store may hand out a shared cached row
    if entries is not None:
        project.allowlist = parse_allowlist(entries)
    if enabled and not project.allowlist:
        raise ParamIllegal("an enabled allowlist needs at least one address")
    project.allowlist_enabled = enabled
    return await _save(ctx, project)


async def set_services(ctx: Context, access_id: str, codes: list[str]) -> Project:
    project = dataclasses.replace(await get(ctx, access_id))  # the store may hand out a shared cached row
    try:
        project.services = services.normalise(codes)
    except ValueError as exc:
        raise ParamIllegal(str(exc)) from exc
    return await _save(ctx, project)


async def authorize_service(ctx: Context, access_id: str, code: str, authorized: bool = True) -> Project:
    project = dataclasses.replace(await get(ctx, access_id))  # the store may hand out a shared cached row
    wanted = set(project.services) | {code} if authorized else set(project.services) - {code}
    return await set_services(ctx, access_id, sorted(wanted))


async def update(ctx: Context, access_id: str, *, name: str | None = None, description: str | None = None,
                 industry: str | None = None) -> Project:
    """Everything but the development method and the data center can change after creation."""
    project = dataclasses.replace(await get(ctx, access_id))  # the store may hand out a shared cached row
    if name is not None:
        project.name = _check_name(name)
    if description is not None:
        project.description = description.strip()[:255]
    if industry is not None:
        project.industry = industry.strip()[:64]
    return await _save(ctx, project)


ENCRYPTIONS = ("aes_ecb", "aes_gcm")


async def set_message_encryption(ctx: Context, access_id: str, encryption: str) -> Project:
    """ECB (what tuya-connector-python decrypts) or GCM (the platform's newer option) for pushed messages."""
    if encryption not in ENCRYPTIONS:
        raise ParamIllegal(f"message encryption must be one of {', '.join(ENCRYPTIONS)}")
    project = dataclasses.replace(await get(ctx, access_id))  # the store may hand out a shared cached row
    project.message_encryption = encryption
    return await _save(ctx, project)


async def set_legacy_signing(ctx: Context, access_id: str, enabled: bool) -> Project:
    """Opt a project in to (or out of) the pre-2021 signature algorithm, which signs neither path nor body."""
    project = dataclasses.replace(await get(ctx, access_id))  # the store may hand out a shared cached row
    project.legacy_signing = enabled
    return await _save(ctx, project)
