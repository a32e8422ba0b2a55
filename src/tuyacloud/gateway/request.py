"""What a route handler receives: the authenticated project and token, and the parsed parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuyacloud.domain.context import Context
from tuyacloud.errors import ParamIllegal
from tuyacloud.models import Project, Token


@dataclass
class ApiRequest:
    ctx: Context
    project: Project
    token: Token | None
    path_params: dict[str, str]
    params: dict[str, Any]
    body: Any
    client_ip: str
    base_url: str

    def ids_param(self, name: str, limit: int = 20) -> list[str]:
        """A comma-separated id list (``device_ids=a,b``), capped as the platform caps batch calls."""
        raw = self.params.get(name) or ""
        ids = [i.strip() for i in str(raw).split(",") if i.strip()]
        if len(ids) > limit:
            raise ParamIllegal(f"{name} takes at most {limit} ids")
        return ids
