"""Every error the cloud can answer with, and the one table that maps it to a Tuya code and message.

Domain code raises the typed errors below; only the gateway's envelope turns them into a response body,
through :func:`code_message_detail`. Keeping the codes in one table means a client that matches on a code or on
a message text (tinytuya looks for ``token invalid`` and compares ``not support this device``) sees the same thing
from every endpoint.

``msg`` is always exactly the platform's text for the code, never anything more: clients compare it. What this
cloud can say beyond that (which device, which field, which limit) goes to the envelope's extra ``detail`` field,
which clients of the platform simply ignore.
"""

from __future__ import annotations


class TuyaError(Exception):
    """Base of all errors that reach a client. ``detail`` is what this cloud says beyond the platform's text (the
    envelope's ``detail`` field); the ``msg`` itself is the table's text for the error's code."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or type(self).__name__)
        self.detail = detail


# --- system / request errors -------------------------------------------------------------------
class SystemError_(TuyaError):
    """Anything unexpected: never a stack trace on the wire."""


class StoreUnavailable(TuyaError):
    """The database cannot be reached or cannot write right now (PostgreSQL down, SQLite busy beyond its timeout,
    a full disk): the request did nothing and may be retried (1111). The store raises it in place of the driver's
    error and logs the outage once, so an outage is one log line with a count, not a traceback per request."""


class StoreLost(SystemError_):
    """The SQLite file was removed or replaced under the running server: every write is refused until the server
    is restarted on a real data directory, because a commit now would go to a file nobody will ever read (500)."""


class DataNotExist(TuyaError):
    pass


class SecretInvalid(TuyaError):
    pass


class GrantTypeInvalid(TuyaError):
    pass


class SignInvalid(TuyaError):
    pass


class ClientIdInvalid(TuyaError):
    pass


class ContentTypeNotSupported(TuyaError):
    pass


class TokenInvalid(TuyaError):
    """Unknown, expired or refreshed-away access token, and used-up refresh tokens (code 1010)."""


class RequestTimeInvalid(TuyaError):
    pass


class ParamEmpty(TuyaError):
    pass


class ParamRangeInvalid(TuyaError):
    pass


class TypeIncorrect(TuyaError):
    pass


class MissingHeader(TuyaError):
    pass


class PermissionDeny(TuyaError):
    pass


class UriPathInvalid(TuyaError):
    pass


class ParamIllegal(TuyaError):
    pass


class RequestsTooFrequent(TuyaError):
    pass


class ConcurrencyOverLimit(TuyaError):
    """A connection over the server's connection limits (total, or per client address): code 1110."""


class FrequencyLimited(ConcurrencyOverLimit):
    """A call over its API's per-second limit with quotas on (domain/projects/quotas.py): 1110, the private
    cloud's code; the public cloud's answer to this is not documented."""


class OpenHubDisabled(PermissionDeny):
    """An MQTT open-hub config call on a server running without its broker (``serve --no-mqtt``): 1106."""


class IpNotAllowed(TuyaError):
    """Carries the caller's address: the real cloud names it in the message."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.address = address


# --- device errors ------------------------------------------------------------------------------
class DeviceOffline(TuyaError):
    pass


class FunctionNotSupported(TuyaError):
    pass


class ProductNotExist(TuyaError):
    pass


class UserNotExist(TuyaError):
    pass


class CommandNotSupported(TuyaError):
    """A command whose code, type or value the device's instruction set does not allow (2008)."""


class DeviceNotSupported(TuyaError):
    pass


class DeviceNotExist(TuyaError):
    pass


class CategoryNotSupported(TuyaError):
    pass


class RemoteNotExist(DeviceNotExist):
    """An infrared remote id not bound to the blaster the path names (2010: on the platform a remote is a virtual
    device of its own)."""


class IrKeyNotSupported(CommandNotSupported):
    """A key the remote does not have, or an air-conditioner value out of its range (2008)."""


class DeviceTokenExpired(TuyaError):
    """Pairing with a device registration token after its expiry (2007)."""


class DeviceFrozen(PermissionDeny):
    """A command to a device the project frozen (``PUT .../freeze-state``). The platform's code for it is not
    documented anywhere we could find; 1106 ``permission deny`` is this cloud's choice (docs/fidelity.md)."""


class NotAGateway(DeviceNotSupported):
    """A device named as a gateway (sub-devices, discovery) that is not one (2009 ``not support this device``)."""


# --- custom projects: assets and project users -----------------------------------------------------
class AssetNotExist(DataNotExist):
    """An asset id unknown in this project and region (1000 ``data not exist``, as for other missing data)."""


class AssetNotEmpty(ParamIllegal):
    """Deleting an asset that still has sub-assets or devices (1109)."""


class AssetLimitExceeded(ParamRangeInvalid):
    """The asset tree would exceed its configured depth or breadth (1101)."""


class UserExists(TuyaError):
    pass


class PasswordWrong(TuyaError):
    pass


# --- smart home: apps, homes, rooms, members ------------------------------------------------------
class SchemaNotExist(TuyaError):
    """An app schema no app has (2017)."""


class HomeNotExist(TuyaError):
    pass


class RoomNotExist(TuyaError):
    pass


class MemberNotRegistered(TuyaError):
    """Adding a home member whose account is not a user of the app (2506)."""


class MemberAlreadyInHome(TuyaError):
    pass


class MemberMustBeAdmin(TuyaError):
    """A member without the administrator (or owner) role managing the home (2508)."""


class MemberNotExist(TuyaError):
    pass


class MemberNameExists(TuyaError):
    pass


# --- smart home: scenes and automations -------------------------------------------------------------
class SceneNotExist(TuyaError):
    """A scene id unknown in the home the path names (2503)."""


class AutomationNotExist(SceneNotExist):
    """An automation id unknown in the home the path names: automations are scenes with conditions (2503)."""


class ActionEmpty(TuyaError):
    """A scene or automation without actions (2512)."""


class DeviceNotInHome(TuyaError):
    """An action or condition naming a device that is not in the scene's home (2514)."""


# --- timers (scheduled tasks) ----------------------------------------------------------------------
class TimerTimeOverlap(TuyaError):
    """Two timers of one group at the same minute on the same day (2201)."""


class TimerDateInvalid(TuyaError):
    """A ``date`` that is not a real ``yyyyMMdd`` day (2202)."""


class TimerLimitExceeded(TuyaError):
    """A device would have more than 30 timers across both timer families (2204)."""


class TimerExpired(TuyaError):
    """A one-shot timer whose time has already passed (2209)."""


# --- device sharing (Home Assistant's QR login): platform codes, what happened in the detail -----------------
class UserCodeInvalid(UserNotExist):
    """A QR login for a user code no app user has (2006)."""


class QrLoginPending(PermissionDeny):
    """The QR login has not been approved yet (1106; the detail says to approve it in the console, the CLI or the
    control API)."""


class QrLoginRefused(PermissionDeny):
    """The QR login was refused (1106)."""


class QrLoginExpired(TokenInvalid):
    """An expired, already redeemed or unknown QR code (1010): scan a new one."""


class QrLoginsTooMany(RequestsTooFrequent):
    """A new QR login for a user code that already has ``limits.MAX_PENDING_QR_LOGINS`` waiting (1199, the
    platform's answer to a client that asks too often; the detail says how many wait and how to clear them)."""


# --- platform / subscription errors ---------------------------------------------------------------
class ApiNotSubscribed(TuyaError):
    """The project is not authorised for the API service this path belongs to."""


class QuotaUsedUp(TuyaError):
    """The project's monthly call or message quota is used up (quotas on, domain/projects/quotas.py)."""


class DevicePoolInsufficient(TuyaError):
    """A device over the project's device cap (quotas on): the platform's "controllable device pool"."""


# code, the platform's exact message text (``msg``). The detail (if any) travels separately, never inside msg.
_TABLE: dict[type[TuyaError], tuple[int, str]] = {
    SystemError_: (500, "system error, please contact the admin"),
    DataNotExist: (1000, "data not exist"),
    SecretInvalid: (1001, "secret invalid"),
    GrantTypeInvalid: (1003, "grant type invalid"),
    SignInvalid: (1004, "sign invalid"),
    ClientIdInvalid: (1005, "clientId invalid"),
    ContentTypeNotSupported: (1006, "not support content type"),
    TokenInvalid: (1010, "token invalid"),
    RequestTimeInvalid: (1013, "request time is invalid"),
    ParamEmpty: (1100, "param is empty"),
    ParamRangeInvalid: (1101, "params range invalid"),
    TypeIncorrect: (1104, "type is incorrect"),
    MissingHeader: (1105, "missing the header"),
    PermissionDeny: (1106, "permission deny"),
    UriPathInvalid: (1108, "uri path invalid"),
    ParamIllegal: (1109, "param is illegal, please check it"),
    ConcurrencyOverLimit: (1110, "concurrent request over limit"),
    StoreUnavailable: (1111, "system is busy, please retry later"),
    RequestsTooFrequent: (1199, "your requests are too frequent"),
    DeviceOffline: (2001, "device is offline"),
    FunctionNotSupported: (2003, "function not support"),
    ProductNotExist: (2005, "product not exist"),
    UserNotExist: (2006, "user not exist"),
    UserExists: (2023, "user exist"),
    PasswordWrong: (2401, "username or password wrong"),
    DeviceTokenExpired: (2007, "device token expired"),
    CommandNotSupported: (2008, "command or value not support"),
    DeviceNotSupported: (2009, "not support this device"),
    DeviceNotExist: (2010, "device not exist"),
    CategoryNotSupported: (2015, "this category is not supported"),
    SchemaNotExist: (2017, "schema does not exist"),
    HomeNotExist: (2501, "home not exist"),
    RoomNotExist: (2502, "room not exist"),
    MemberNotRegistered: (2506, "the member account is not registered"),
    MemberAlreadyInHome: (2507, "the member is already in the family"),
    MemberMustBeAdmin: (2508, "the operator must be an administrator of the family"),
    MemberNotExist: (2509, "the member does not exist"),
    MemberNameExists: (2510, "the member name already exists"),
    SceneNotExist: (2503, "scene not exist"),
    ActionEmpty: (2512, "action is empty"),
    DeviceNotInHome: (2514, "scene and device are not related"),
    TimerTimeOverlap: (2201, "time overlap"),
    TimerDateInvalid: (2202, "date format error"),
    TimerLimitExceeded: (2204, "the number of timers exceeds the maximum of 30"),
    TimerExpired: (2209, "scheduled task expired"),
    ApiNotSubscribed: (28841101, "No permissions. This API is not subscribed."),
    QuotaUsedUp: (28841004, "Please upgrade to the official version: Your quota of Trial Edition is used up."),
    DevicePoolInsufficient: (60001001, "Your controllable device pool quota is insufficient."),
}


def code_and_message(error: TuyaError) -> tuple[int, str]:
    """The Tuya ``code`` and ``msg`` for an error: exactly the platform's text for the code, nothing appended."""
    if isinstance(error, IpNotAllowed):
        return 1114, f"your ip({error.address}) don't have access to this API"
    for cls in type(error).__mro__:
        if cls in _TABLE:
            return _TABLE[cls]  # type: ignore[index]
    return _TABLE[SystemError_]  # pragma: no cover - every subclass is in the table


def detail_of(error: TuyaError) -> str | None:
    """What this cloud says beyond the platform's text (the envelope's ``detail``), or None when nothing."""
    if isinstance(error, IpNotAllowed):
        return None  # the address is already in the platform's own text
    _, message = code_and_message(error)
    return error.detail if error.detail and error.detail != message else None


def code_message_detail(error: TuyaError) -> tuple[int, str, str | None]:
    """``code``, ``msg`` (the platform's exact text) and ``detail`` (ours, or None) of an error response."""
    code, message = code_and_message(error)
    return code, message, detail_of(error)


def human_text(error: TuyaError) -> str:
    """For people (the command line, the console): the platform's text, then the detail after ": "."""
    _, message, detail = code_message_detail(error)
    return f"{message}: {detail}" if detail else message


def all_codes() -> dict[int, str]:
    """Every code this server can answer with, for documentation."""
    codes = {code: message for code, message in _TABLE.values()}
    codes[1114] = "your ip(<address>) don't have access to this API"
    return dict(sorted(codes.items()))
