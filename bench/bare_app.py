"""The baseline: a bare Starlette JSON route, served exactly as ``tuyacloud serve`` serves the cloud.

Same uvicorn settings as ``tuyacloud.server.serve``: httptools with the coalescing transport
(``tuyacloud.coalescing``), uvloop, no access log, log level warning, one worker, lifespan on.
Run: ``python bench/bare_app.py --port 8001`` (pin it with ``taskset -c 0``).
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tuyacloud.coalescing import CoalescingHttpToolsProtocol

# About the size of a status read's envelope minus the status list, so wrk's work per response is comparable.
_BODY = {"result": {"id": "vdev0000000000000000", "online": True}, "success": True, "t": 0, "tid": "0" * 32}


async def hello(request: Request) -> JSONResponse:
    return JSONResponse(_BODY)


app = Starlette(routes=[Route("/{path:path}", hello, methods=["GET", "POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(app, host=args.host, port=args.port, http=CoalescingHttpToolsProtocol, loop="uvloop",
                            access_log=False, log_level="warning", lifespan="on", proxy_headers=False)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
