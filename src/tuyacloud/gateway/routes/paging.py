"""The declared parameters shared by the list endpoints, and the cursor helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuyacloud.gateway.router import Param

DEVICE_IDS = Param("device_ids", description="comma-separated device ids (at most 20)")
LAST_ROW_KEY = Param("last_row_key", description="cursor returned by the previous page")
LAST_ID = Param("last_id", description="cursor: the last device id of the previous page")
PAGE_NO = Param("page_no", "integer", minimum=1, maximum=1_000_000, description="1-based page number")


def page_size(name: str = "page_size", maximum: int = 200, required: bool = False) -> Param:
    return Param(name, "integer", required=required, minimum=1, maximum=maximum, description=f"at most {maximum}")


def cursor_after(found: Sequence[Any], more: bool, key: str = "id") -> str:
    """The cursor a page answers: the last item's ``key`` while more pages follow, empty on the last page (as the
    platform answers its last page), so a client that follows the cursor alone stops without one more call."""
    return str(getattr(found[-1], key)) if more and found else ""
