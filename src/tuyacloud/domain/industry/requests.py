"""The request bodies of the industry APIs (assets, project users, their grants), as the domain takes them.

Decoded and checked by the edge (``bodies.py``); each refusal is the platform's answer for that API. Fields whose
absence the domain answers itself (``name must be a string``, ``username is required``) default to ``None``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from tuyacloud.bodies import Body
from tuyacloud.errors import ParamIllegal, PasswordWrong, UserNotExist

_NAME = (ParamIllegal, "name must be a string")


def _strings(*names: str) -> dict[str, tuple[type[ParamIllegal], str]]:
    return {name: (ParamIllegal, f"{name} must be a string") for name in names}


# --- assets -------------------------------------------------------------------------------------------------------
class AddAsset(Body):
    name: str | None = None
    parent_asset_id: str | None = None
    required = ("name",)
    refusals = {"name": _NAME, **_strings("parent_asset_id")}


class AddAssetIot03(Body):
    asset_name: str | None = None
    parent_asset_id: str | None = None
    asset_image: str | None = None
    asset_type: str | None = None
    required = ("asset_name",)
    refusals = {"asset_name": _NAME, **_strings("parent_asset_id", "asset_image", "asset_type")}


class RenameAsset(Body):
    name: str | None = None
    required = ("name",)
    refusals = {"name": _NAME}


class CrossLevel(Body):
    """The descendants of ``asset_id`` (all levels, or ``level`` of them), paged by ``last_row_key``."""

    asset_id: str | None = None
    asset_name: str | None = None
    last_row_key: str | None = None
    page_size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    level: Annotated[int, msgspec.Meta(ge=1)] | None = None
    required = ("asset_id",)
    refusals = {**_strings("asset_id", "asset_name", "last_row_key"),
                "page_size": (ParamIllegal, "page_size must be an integer from 1 to 100"),
                "level": (ParamIllegal, "level must be a positive integer")}


class TransferDevice(Body):
    source_asset_id: str | None = None
    target_asset_id: str | None = None
    required = ("target_asset_id",)
    refusals = _strings("source_asset_id", "target_asset_id")


# --- project users ------------------------------------------------------------------------------------------------
def _texts(limits: dict[str, int]) -> dict[str, tuple[type[ParamIllegal], str]]:
    return {name: (ParamIllegal, f"{name.removeprefix('user_')} must be a string of at most {limit} printable "
                                 "characters") for name, limit in limits.items()}


def _hexes(*names: str) -> dict[str, tuple[type[ParamIllegal], str]]:
    return {name: (ParamIllegal, f"{name} must be the SHA-256 hex of the password") for name in names}


_USERNAME = (ParamIllegal, "username is required")


class RegisterUser(Body):
    """A project user: ``password`` is the SHA-256 hex of the password, as tuya-iot-py-sdk sends it."""

    username: str | None = None
    password: str | None = None
    country_code: str | None = None
    nick_name: str | None = None
    user_nick_name: str | None = None
    creator: str | None = None
    required = ("username", "password")
    refusals = {"username": _USERNAME, **_hexes("password"),
                **_texts({"country_code": 8, "nick_name": 64, "user_nick_name": 64, "creator": 64})}


class ModifyUser(Body):
    """Nick name, country code, and the password when the old one is given right."""

    nick_name: str | None = None
    user_nick_name: str | None = None
    country_code: str | None = None
    old_password: str | None = None
    new_password: str | None = None
    refusals = {**_texts({"nick_name": 64, "user_nick_name": 64, "country_code": 8}),
                **_hexes("old_password", "new_password")}


class ResetPassword(Body):
    username: str | None = None
    new_password: str | None = None
    required = ("username", "new_password")
    refusals = {"username": _USERNAME, **_hexes("new_password")}


class UserLogin(Body):
    """A project user's login: any wrong pair, ill-typed included, is 2401 with no hint which part."""

    username: str | None = None
    password: str | None = None
    required = ("username", "password")
    refusals = {"username": (PasswordWrong, None), "password": (PasswordWrong, None)}


_CHILDREN = (ParamIllegal, "authorized_children must be true or false")
_ASSET_IDS = "asset_ids must be a comma-separated string"


class Grant(Body):
    """``{uid, asset_id, authorized_children}``: a user authorised on one asset (and its children if asked)."""

    uid: str | None = None
    asset_id: str | int | None = None
    authorized_children: bool = False
    required = ("uid", "asset_id")
    refusals = {"uid": (UserNotExist, "user '' does not exist"),
                "asset_id": (ParamIllegal, "asset_id must be a string"), "authorized_children": _CHILDREN}


class RevokeMany(Body):
    """``{asset_ids: "a,b"}`` (the uid is in the path)."""

    asset_ids: str | None = None
    required = ("asset_ids",)
    refusals = {"asset_ids": (ParamIllegal, _ASSET_IDS)}

    def ids(self) -> list[str]:
        if self.asset_ids is None:
            raise ParamIllegal(_ASSET_IDS)
        return [i for i in self.asset_ids.split(",") if i.strip()]


class GrantMany(RevokeMany):
    """``{asset_ids: "a,b", authorized_children}`` (the uid is in the path)."""

    authorized_children: bool = False
    refusals = {"asset_ids": (ParamIllegal, _ASSET_IDS), "authorized_children": _CHILDREN}


class Revoke(Body):
    asset_id: str | int | None = None
    required = ("asset_id",)
    refusals = {"asset_id": (ParamIllegal, "asset_id must be a string")}
