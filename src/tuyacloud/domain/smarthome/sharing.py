"""Device sharing: how Home Assistant's Tuya integration logs an app user in, and whose token it then carries.

On the platform a user types the *user code* the Smart Life app shows into Home Assistant, Home Assistant shows a
QR code, the app scans and approves it, and Home Assistant's next poll of the QR code gets a token. Here the app's
part is played by whoever runs the cloud: every app user has a user code (:func:`user_code`), and a pending QR
login is approved or refused in the console, the CLI or the control API (:func:`decide`). A QR code lives
:data:`QR_TTL_MS` and is redeemed once.

The token is an ordinary app-user token (kind ``app_user``) of the first project the user's app is linked to, so
every later call goes through the same domain as the OpenAPI with the same visibility: the user's homes only.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuyacloud import limits
from tuyacloud.domain.access import tokens
from tuyacloud.domain.context import Context
from tuyacloud.errors import (
    ParamEmpty,
    ParamIllegal,
    PermissionDeny,
    QrLoginExpired,
    QrLoginPending,
    QrLoginRefused,
    QrLoginsTooMany,
    SystemError_,
    TokenInvalid,
    UserCodeInvalid,
)
from tuyacloud.models import AppUser, Project, QrLogin, Token
from tuyacloud.store.base import Tx

QR_TTL_MS = 300_000
KEEP_EXPIRED_MS = 86_400_000
PENDING, APPROVED, REFUSED, USED = "pending", "approved", "refused", "used"
_CODE_LEN = 8


@dataclass(frozen=True)
class LoginResult:
    token: Token
    user: AppUser


# --- user codes -------------------------------------------------------------------------------------------------
async def user_code(ctx: Context, uid: str) -> str:
    """The app user's user code, made on first use (what the Smart Life app shows under Settings)."""
    user = await ctx.store.get_app_user(uid)
    if user is None:
        raise UserCodeInvalid(f"no app user {uid!r}")
    found = await ctx.store.user_code_of(user.id)
    if found is not None:
        return found
    for _ in range(10):
        candidate = ctx.ids.alnum(_CODE_LEN).lower()

        async def work(tx: Tx, code: str = candidate) -> str | None:
            existing = await tx.user_code_of(user.id)
            if existing is not None:
                return existing
            return code if await tx.insert_user_code(code, user.id, ctx.clock.now_ms()) else None

        code = await ctx.store.transaction(work)
        if code is not None:
            return code
    raise SystemError_("could not draw an unused user code")


async def user_by_code(ctx: Context, code: str) -> AppUser:
    uid = await ctx.store.uid_of_user_code(code.strip().lower()) if code and code.strip() else None
    user = await ctx.store.get_app_user(uid) if uid else None
    if user is None:
        raise UserCodeInvalid(f"no app user has the user code {code!r}; `tuyacloud app user-code` shows them")
    return user


async def project_of(ctx: Context, user: AppUser) -> Project:
    """The project the user's sessions belong to: the first one the user's app is linked to."""
    links = await ctx.store.app_links(user.schema)
    project = await ctx.store.get_project(links[0]) if links else None
    if project is None:
        raise PermissionDeny(f"the app {user.schema!r} of this user is not linked to any project; link it first "
                             "(`tuyacloud app link`)")
    return project


# --- QR logins --------------------------------------------------------------------------------------------------
async def start_login(ctx: Context, client_id: str, code: str, schema: str) -> QrLogin:
    """A QR login waiting for the user's approval."""
    if not client_id or not code:
        raise ParamEmpty("clientid and usercode are required")
    user = await user_by_code(ctx, code)
    await project_of(ctx, user)  # refuse now, not after the approval, when nothing could be served
    now = ctx.clock.now_ms()
    for _ in range(10):
        login = QrLogin(ctx.ids.alnum(24), code.strip().lower(), user.id, client_id, schema or "", PENDING, now,
                        now + QR_TTL_MS)

        async def work(tx: Tx, item: QrLogin = login) -> bool:
            # Whoever knows a user code may ask for QR codes; without a cap each one is a row until it expires.
            await tx.hold_user_code(item.user_code)
            waiting = await tx.count_pending_qr_logins(item.user_code, now)
            if waiting >= limits.MAX_PENDING_QR_LOGINS:
                raise QrLoginsTooMany(
                    f"{waiting} QR logins are already waiting for approval for this user code (at most "
                    f"{limits.MAX_PENDING_QR_LOGINS}): approve or refuse them, or wait for them to expire "
                    f"({QR_TTL_MS // 60000} minutes)")
            await tx.delete_qr_logins_expired_before(now - KEEP_EXPIRED_MS)  # old logins go as new ones come
            return await tx.insert_qr_login(item)

        if await ctx.store.transaction(work):
            return login
    raise SystemError_("could not draw an unused QR code")


async def _live(ctx: Context, qrcode: str) -> QrLogin:
    login = await ctx.store.get_qr_login(qrcode) if qrcode else None
    if login is None or login.expires_ms <= ctx.clock.now_ms():
        raise QrLoginExpired(f"the QR code has expired (or is unknown), scan a new one: QR codes last "
                             f"{QR_TTL_MS // 60000} minutes")
    return login


async def decide(ctx: Context, qrcode: str, approve: bool) -> QrLogin:
    """Approve or refuse a pending login (the app's part); a decided login cannot change its mind."""
    login = await _live(ctx, qrcode)
    target = APPROVED if approve else REFUSED

    async def work(tx: Tx) -> bool:
        return await tx.set_qr_login_state(login.qrcode, PENDING, target)

    if not await ctx.store.transaction(work):
        raise ParamIllegal(f"the login is already {login.state}")
    login.state = target
    return login


async def pending(ctx: Context, uids: list[str] | None = None) -> list[tuple[QrLogin, AppUser | None]]:
    found = await ctx.store.pending_qr_logins(ctx.clock.now_ms(), uids)
    return [(q, await ctx.store.get_app_user(q.uid)) for q in found]


async def redeem(ctx: Context, qrcode: str, client_id: str, code: str) -> LoginResult:
    """The poll Home Assistant makes when the user presses Submit: a token once approved, at most once."""
    login = await _live(ctx, qrcode)
    if login.client_id != client_id or login.user_code != (code or "").strip().lower():
        raise QrLoginExpired("the QR code was made for another user code")
    if login.state == PENDING:
        raise QrLoginPending("the login is waiting for approval: approve it in the tuyacloud console (Apps & "
                             f"Homes), with `tuyacloud app approve-login {login.qrcode}` or through the control "
                             "API, then press Submit again")
    if login.state == REFUSED:
        raise QrLoginRefused("the login was refused")
    if login.state != APPROVED:
        raise QrLoginExpired("the QR code was already used")
    user = await ctx.store.get_app_user(login.uid)
    if user is None:
        raise UserCodeInvalid("the app user no longer exists")
    project = await project_of(ctx, user)

    async def work(tx: Tx) -> bool:
        return await tx.set_qr_login_state(login.qrcode, APPROVED, USED)

    if not await ctx.store.transaction(work):
        raise QrLoginExpired("the QR code was already used")
    return LoginResult(await tokens.issue(ctx, project, "1", uid=user.id, kind="app_user"), user)


# --- sessions ---------------------------------------------------------------------------------------------------
async def session(ctx: Context, access_token: str) -> tuple[Token, Project]:
    """The token a sharing request names and its project, whether or not it is still live (the key of the
    request's encryption comes from it; :func:`require_live` decides whether the call may run)."""
    token = await ctx.store.get_token(access_token) if access_token else None
    if token is None or token.kind != "app_user":
        raise TokenInvalid()
    project = await ctx.store.get_project(token.access_id)
    if project is None or project.region != token.region:
        raise TokenInvalid()
    return token, project


def require_live(ctx: Context, token: Token) -> None:
    if not tokens.is_live(token, ctx.clock.now_ms()):
        raise TokenInvalid()


async def refresh(ctx: Context, project: Project, token: Token, refresh_token: str) -> Token:
    """A new token pair for the session's own refresh token (single use, as on the OpenAPI)."""
    if refresh_token != token.refresh_token:
        raise TokenInvalid("the refresh token is not this session's")
    return await tokens.refresh(ctx, project, refresh_token)


async def expire(ctx: Context, token: Token, access_token: str | None) -> None:
    """Home Assistant removing the integration: the session ends at once."""
    if access_token not in (None, "", token.access_token):
        raise PermissionDeny("a session ends only itself")
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        await tx.use_refresh_token(token.refresh_token, now)

    await ctx.store.transaction(work)


async def decide_for(ctx: Context, qrcode: str, approve: bool, uids: list[str]) -> QrLogin:
    """Approve or refuse a login from a page that shows only these users' logins."""
    login = await _live(ctx, qrcode)
    if login.uid not in uids:
        raise PermissionDeny("the login is not one of this project's app users'")
    return await decide(ctx, qrcode, approve)
