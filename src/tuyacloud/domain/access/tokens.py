"""Access and refresh tokens.

Rules, as Tuya documents them: an access token lives ``token_ttl_s``; a refresh token can be used once, and using
it invalidates the old access token and the old refresh token at once. ``token_grace_s`` (``serve --token-grace``,
0 by default) lets the old access token live that much longer, for clients whose parallel requests still carry it
while another thread refreshes. Any unknown, expired or retired token is answered with 1010 ``token invalid``,
the one signal every client recovers from.
"""

from __future__ import annotations

from tuyacloud.domain.context import Context
from tuyacloud.errors import GrantTypeInvalid, TokenInvalid
from tuyacloud.models import Project, Token
from tuyacloud.store.base import Tx


def _new_token(ctx: Context, project: Project, uid: str, kind: str) -> Token:
    now = ctx.clock.now_ms()
    return Token(
        access_token=ctx.ids.token(),
        refresh_token=ctx.ids.token(),
        access_id=project.access_id,
        region=project.region,
        uid=uid,
        kind=kind,
        created_ms=now,
        expires_ms=now + ctx.policy.token_ttl_s * 1000,
    )


def token_result(ctx: Context, token: Token) -> dict[str, object]:
    """The ``result`` of token calls: both ``expire_time`` and ``expire`` (clients read either).

    The seconds left are rounded up, so a token just issued says the full lifetime (7200), as the platform does,
    even when the clock moved a millisecond between issuing and answering."""
    remaining = max(0, -(-(token.expires_ms - ctx.clock.now_ms()) // 1000))
    return {
        "access_token": token.access_token,
        "expire_time": remaining,
        "expire": remaining,
        "refresh_token": token.refresh_token,
        "uid": token.uid,
    }


async def issue(ctx: Context, project: Project, grant_type: str | None, uid: str | None = None,
                kind: str = "project") -> Token:
    if grant_type != "1":
        raise GrantTypeInvalid("only grant_type=1 (simple mode) is supported")
    token = _new_token(ctx, project, uid or project.uid, kind)

    async def work(tx: Tx) -> None:
        await tx.insert_token(token)

    await ctx.store.transaction(work)
    return token


async def refresh(ctx: Context, project: Project, refresh_token: str) -> Token:
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> Token:
        old = await tx.get_token_by_refresh(refresh_token)
        if old is None or old.access_id != project.access_id or old.region != project.region:
            raise TokenInvalid()
        grace_end = min(old.expires_ms, now + ctx.policy.token_grace_s * 1000)
        if not await tx.use_refresh_token(refresh_token, grace_end):
            raise TokenInvalid()  # already used: single use
        new = _new_token(ctx, project, old.uid, old.kind)
        await tx.insert_token(new)
        return new

    return await ctx.store.transaction(work)


def is_live(token: Token, now_ms: int) -> bool:
    if token.expires_ms <= now_ms:
        return False
    return token.revoked_ms is None or token.revoked_ms > now_ms


async def authenticate(ctx: Context, project: Project, access_token: str, now_ms: int | None = None) -> Token:
    """The project's live token named ``access_token`` (1010 otherwise); ``now_ms``: the caller's reading of the
    clock for this request, when it has one."""
    if not access_token:
        raise TokenInvalid()
    token = await ctx.store.get_token(access_token)
    if token is None or token.access_id != project.access_id or token.region != project.region:
        raise TokenInvalid()
    if not is_live(token, ctx.clock.now_ms() if now_ms is None else now_ms):
        raise TokenInvalid()
    return token


async def sweep(ctx: Context, expired_before_ms: int) -> int:
    """Forget tokens that expired long ago; they would answer 1010 either way."""

    async def work(tx: Tx) -> int:
        return await tx.delete_tokens_expired_before(expired_before_ms)

    return await ctx.store.transaction(work)
