"""Token rules in process against the store: a refresh token is used once, and using it retires the old access
token at once (or after ``token_grace_s``); expired, unknown and other projects' tokens answer 1010."""

from __future__ import annotations

import dataclasses

import pytest

from tuyacloud.domain.access import tokens
from tuyacloud.domain.context import Context
from tuyacloud.domain.projects import projects
from tuyacloud.errors import GrantTypeInvalid, TokenInvalid
from tuyacloud.models import Project

pytestmark = pytest.mark.anyio


async def test_a_refresh_token_works_once_and_retires_the_old_pair(ctx: Context, custom_project: Project) -> None:
    first = await tokens.issue(ctx, custom_project, "1")
    assert (await tokens.authenticate(ctx, custom_project, first.access_token)).uid == custom_project.uid
    second = await tokens.refresh(ctx, custom_project, first.refresh_token)
    assert {second.access_token, second.refresh_token}.isdisjoint({first.access_token, first.refresh_token})
    assert second.expires_ms == ctx.clock.now_ms() + ctx.policy.token_ttl_s * 1000
    await tokens.authenticate(ctx, custom_project, second.access_token)
    with pytest.raises(TokenInvalid):  # no grace by default: the old access token is gone at once
        await tokens.authenticate(ctx, custom_project, first.access_token)
    with pytest.raises(TokenInvalid):  # single use
        await tokens.refresh(ctx, custom_project, first.refresh_token)
    third = await tokens.refresh(ctx, custom_project, second.refresh_token)  # the new one works, once
    await tokens.authenticate(ctx, custom_project, third.access_token)


async def test_the_grace_keeps_the_old_access_token_that_long_and_no_longer(
        ctx: Context, custom_project: Project) -> None:
    graced = dataclasses.replace(ctx, policy=dataclasses.replace(ctx.policy, token_grace_s=30))
    first = await tokens.issue(graced, custom_project, "1")
    await tokens.refresh(graced, custom_project, first.refresh_token)
    ctx.clock.step(29_000)
    await tokens.authenticate(graced, custom_project, first.access_token)
    ctx.clock.step(1_000)
    with pytest.raises(TokenInvalid):
        await tokens.authenticate(graced, custom_project, first.access_token)


async def test_an_access_token_expires_at_its_ttl(ctx: Context, custom_project: Project) -> None:
    token = await tokens.issue(ctx, custom_project, "1")
    ctx.clock.step(ctx.policy.token_ttl_s * 1000 - 1)
    await tokens.authenticate(ctx, custom_project, token.access_token)
    ctx.clock.step(1)
    with pytest.raises(TokenInvalid):
        await tokens.authenticate(ctx, custom_project, token.access_token)


async def test_tokens_are_the_projects_own(ctx: Context, custom_project: Project) -> None:
    other = await projects.create(ctx, name="Other", region="us", method="custom")
    token = await tokens.issue(ctx, custom_project, "1")
    with pytest.raises(TokenInvalid):
        await tokens.authenticate(ctx, other, token.access_token)
    with pytest.raises(TokenInvalid):  # nor can another project use (and so burn) its refresh token
        await tokens.refresh(ctx, other, token.refresh_token)
    await tokens.refresh(ctx, custom_project, token.refresh_token)
    for unknown in ("", "nonsense"):
        with pytest.raises(TokenInvalid):
            await tokens.authenticate(ctx, custom_project, unknown)
    with pytest.raises(GrantTypeInvalid):
        await tokens.issue(ctx, custom_project, "2")
