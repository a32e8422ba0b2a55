"""httpx for the tests, with one TLS context per process.

``httpx.Client()``, and so every ``httpx.get``/``post``/``request`` (each makes a client), builds a new TLS context
by default and loads the CA bundle into it: about 50 ms of CPU each, even for a plain ``http://`` URL. The suite
made thousands (a signed client per test, every control call, health polls every 50 ms while a process starts), a
large share of its CPU. Here the default ``verify`` is one context made once; a test that needs its own CA (the TLS
servers of ``tinytuya_tls.py``) still passes ``verify=``.
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any

import httpx


def tls_context() -> ssl.SSLContext:
    """httpx's default context (the CA bundle it would load for every client), made once per value of the
    variables it reads (a test may trust a generated CA through ``SSL_CERT_FILE``, as the sharing tests do)."""
    return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def client(**options: Any) -> httpx.Client:
    options.setdefault("verify", tls_context())
    return httpx.Client(**options)


def request(method: str, url: str, **options: Any) -> httpx.Response:
    options.setdefault("verify", tls_context())
    return httpx.request(method, url, **options)


def get(url: str, **options: Any) -> httpx.Response:
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return request("POST", url, **options)
