"""What a route handler receives: the authenticated project and token, and the parsed parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from tuyacloud.bodies import Body
from tuyacloud.domain.context import Context
from tuyacloud.errors import ParamIllegal
from tuyacloud.models import Project, Token

B = TypeVar("B", bound=Body)


@dataclass
class ApiRequest:
    ctx: Context
    project: Project
    token: Token | None
    path_params: dict[str, str]
    params: dict[str, Any]
    body: Body | None  # the route's decoded body model, None for a route without a body
    client_ip: str
    base_url: str

    def parsed(self, model: type[B]) -> B:
        """The body as the route declared it (the router decoded and checked it before the handler ran)."""
        if not isinstance(self.body, model):
            raise TypeError(f"the route does not declare a {model.__name__} body")
        return self.body

    def ids_param(self, name: str, limit: int = 20) -> list[str]:
        """A comma-separated id list (``device_ids=a,b``), capped as the platform caps batch calls."""
        raw = self.params.get(name) or ""
        ids = [i.strip() for i in str(raw).split(",") if i.strip()]
        if len(ids) > limit:
            raise ParamIllegal(f"{name} takes at most {limit} ids")
        return ids
