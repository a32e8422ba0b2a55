"""The request bodies of the smart-home APIs (app users, homes, rooms, members), as the domain takes them.

Decoded and checked by the edge (``bodies.py``); each refusal is the platform's answer for that API. Fields whose
absence the domain answers itself default to ``None``; ``UNSET`` marks a field whose presence matters (a modify
that sends ``"lon": null`` clears it, one that leaves it out keeps it).
"""

from __future__ import annotations

import msgspec

from tuyacloud.bodies import Body, Problem
from tuyacloud.errors import ParamEmpty, ParamIllegal, PermissionDeny, TuyaError, TypeIncorrect

COUNTRY_CODE_REFUSED = "country_code must be a calling code such as \"1\" or 49"
NAME_REFUSED = "name must be 1 to 50 printable characters"
Coordinate = float | str | None  # a number, or one as a string (the app sends both)


def _text(name: str, limit: int = 64) -> tuple[type[ParamIllegal], str]:
    return ParamIllegal, f"{name} must be a string of at most {limit} printable characters"


# --- app users ----------------------------------------------------------------------------------------------------
class SyncAppUser(Body):
    """An app user, created or updated by username; ``password`` is the MD5 hex of the password."""

    country_code: str | int | None = None
    username: str | None = None
    password: str | None = None
    username_type: int = 3
    nick_name: str | None = None
    time_zone_id: str | None = None
    required = ("country_code", "username", "password")
    refusals = {"username": (ParamIllegal, "username is required"),
                "password": (ParamIllegal, "password must be the MD5 hex of the password"),
                "country_code": (ParamIllegal, COUNTRY_CODE_REFUSED),
                "username_type": (ParamIllegal, "username_type must be 1 (mobile), 2 (email) or 3 (other)"),
                "nick_name": _text("nick_name"), "time_zone_id": _text("time_zone_id")}


class AppLogin(Body):
    """The associated-user login of tuya-iot-py-sdk (SMART_HOME)."""

    username: str | None = None
    password: str | None = None
    country_code: str | int | None = None
    schema: str | None = None
    required = ("username", "password", "country_code", "schema")
    refusals = {**{name: (ParamIllegal, "username, password and schema must be strings")
                   for name in ("username", "password", "schema")},
                "country_code": (ParamIllegal, COUNTRY_CODE_REFUSED)}


# --- homes and rooms ----------------------------------------------------------------------------------------------
_HOME_FIELDS: dict[str, tuple[type[TuyaError], str]] = {
    "name": (ParamIllegal, NAME_REFUSED),
    "geo_name": _text("geo_name", 128),
    "lon": (ParamIllegal, "lon must be a number between -180 and 180"),
    "lat": (ParamIllegal, "lat must be a number between -90 and 90"),
}


class HomeSpec(msgspec.Struct):
    name: str | None = None
    geo_name: str | None = None
    lon: Coordinate = None
    lat: Coordinate = None


class CreateHome(Body):
    """``{uid, home: {name, geo_name, lon, lat}, rooms: [names]}``."""

    uid: str | None = None
    home: HomeSpec | None = None
    rooms: list[str | None] | None = None
    required = ("uid", "home")

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.field == "uid":
            return ParamEmpty("uid is required")
        if problem.field == "home":
            if len(problem.path) < 2:
                return ParamEmpty("home {name, geo_name, lon, lat} is required")
            error, detail = _HOME_FIELDS[str(problem.path[1])]
            return error(detail)
        if problem.field == "rooms":
            if len(problem.path) < 2:
                return ParamIllegal("rooms must be a list of names")
            return ParamIllegal(f"room {NAME_REFUSED}")
        return super().refuse(problem)


class ModifyHome(Body):
    """``{name, geo_name?, lon?, lat?}``: a field left out keeps its value."""

    name: str | None = None
    geo_name: str | None | msgspec.UnsetType = msgspec.UNSET
    lon: Coordinate | msgspec.UnsetType = msgspec.UNSET
    lat: Coordinate | msgspec.UnsetType = msgspec.UNSET
    required = ("name",)
    refusals = _HOME_FIELDS


class RoomName(Body):
    name: str | None = None
    required = ("name",)
    refusals = {"name": (ParamIllegal, NAME_REFUSED)}


class MoveDevices(Body):
    """``{device_ids: [ids]}`` (a comma-separated string is taken too)."""

    device_ids: list[str] | str | None = None
    required = ("device_ids",)

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.field == "device_ids":
            if len(problem.path) < 2:
                return ParamEmpty("device_ids is required")
            return ParamIllegal("device_ids takes 1 to 20 device ids")
        return super().refuse(problem)


# --- members ------------------------------------------------------------------------------------------------------
MEMBER_REQUIRED = "member {member_account, country_code, admin, name} is required"


class MemberSpec(msgspec.Struct):
    member_account: str | None = None
    admin: bool = False
    name: str | None = None


class AddMember(Body):
    """``{app_schema, member: {member_account, admin, name}}``: an app user of the home's app joins it."""

    app_schema: str | None = None
    member: MemberSpec | None = None
    required = ("member",)

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.field == "app_schema":
            return ParamIllegal("app_schema must be the home's app")
        if problem.field == "member":
            inner = problem.path[1] if len(problem.path) > 1 else None
            if inner == "member_account":
                return ParamIllegal("member_account must be a string")
            if inner == "admin":
                return ParamIllegal("admin must be true or false")
            if inner == "name":
                return ParamIllegal(f"member {NAME_REFUSED}")
            return ParamEmpty(MEMBER_REQUIRED)
        return super().refuse(problem)


class MemberRole(Body):
    admin: bool | None = None
    required = ("admin",)
    refusals = {"admin": (ParamIllegal, "admin must be true or false")}


# --- device sharing (Home Assistant's encrypted API, gateway/sharing_routes.py) -----------------------------------
class ExpireSession(Body):
    """``{accessToken}``: a session ends itself only."""

    accessToken: str | None = None  # the SDK's spelling
    refusals = {"accessToken": (PermissionDeny, "a session ends only itself")}


class TriggerScene(Body):
    """``{homeId, sceneId}`` (as strings or numbers)."""

    homeId: str | int | None = None  # the SDK's spelling
    sceneId: str | int | None = None
    refusals = {"homeId": (ParamIllegal, "homeId must be a home id"),
                "sceneId": (ParamIllegal, "sceneId must be a scene id")}


class PushConfig(Body):
    """``{linkId}``: the MQTT link Home Assistant's push connection asks credentials for."""

    linkId: str | None = None  # the SDK's spelling
    refusals = {"linkId": (TypeIncorrect, "link_id must be a string")}
