"""Why a request's signature does (not) verify: the console's "verify signature" page, and support.

The server cannot see the string a client signed, only the signature. So this module recomputes the signature
for each known way of signing a request, the documented one, the client quirks ``signing.verify`` accepts, and
the common mistakes it does not (body re-serialised, query signed URL-encoded, the token left in or out, a nonce
sent but not signed, the full URL with the host, the Signature-Headers lines dropped, the legacy algorithm), and
reports the one that reproduces the given signature: that names the part that differs. When none does, the
secret itself (or something no one has seen yet) differs, and the page shows the server's parts to compare by
hand. Every HMAC goes through ``signing.py``; the verdict is ``signing.verify``'s, never a second opinion.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from tuyacloud.domain.access.tokens import is_live
from tuyacloud.domain.context import Context
from tuyacloud.limits import json_refusal
from tuyacloud.signing import (
    BRACES_BODY_SHA256,
    EMPTY_BODY_SHA256,
    SignedRequest,
    canonical_url,
    header_block,
    hmac_upper,
    is_token_path,
    parse_query,
    string_to_sign,
    verify,
)

HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class PastedRequest:
    """A request as a person pastes it: the URL may be a full URL or path + query; header names in any case."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    # Optional: the string to sign as the client logged it. It pins the differing part exactly when no known
    # variant reproduces the signature (a body changed after signing, a typo in the signer).
    client_string_to_sign: str = ""


@dataclass(frozen=True)
class Check:
    """One verdict line. ``ok`` is None when it cannot be told (no known way of signing matched)."""

    name: str
    ok: bool | None
    expected: str
    got: str
    hint: str = ""


@dataclass(frozen=True)
class Part:
    """One ingredient of the signed message, as the server uses it and as the matched variant implies."""

    name: str
    server: str
    client: str | None  # None: unknown (no variant matched)

    @property
    def same(self) -> bool | None:
        return None if self.client is None else self.client == self.server


@dataclass
class SignatureReport:
    verified: bool  # the server would accept this request's authentication (client_id, time, signature)
    signature_ok: bool
    matched_variant: str | None
    differs: list[str]
    summary: str
    checks: list[Check]
    parts: list[Part]
    server_string_to_sign: str
    server_prefix: str
    expected_sign: str
    client_string_to_sign: str | None = None
    notes: list[str] = field(default_factory=list)


# --- parsing what was pasted ---------------------------------------------------------------------------------
def parse_headers(text: str) -> dict[str, str]:
    """Headers pasted as ``name: value`` lines (browser dev tools, logs), ``curl -H`` lines, or a JSON/Python dict.

    Names keep their spelling; values are stripped. Lines without a colon (a request line, blank lines) are skipped.
    """
    stripped = text.strip()
    if stripped.startswith("{") and json_refusal(stripped) is None:  # over the JSON limits: read as lines
        parsed: object
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            try:
                parsed = ast.literal_eval(stripped)  # print(headers) in Python: single quotes
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                parsed = None
        if isinstance(parsed, dict):
            return {str(k).strip(): "" if v is None else str(v).strip() for k, v in parsed.items()}
    headers: dict[str, str] = {}
    for raw_line in stripped.splitlines():
        line = raw_line.strip().rstrip("\\").strip()
        for flag in ("-H ", "--header "):
            if line.startswith(flag):
                line = line[len(flag):].strip()
        if len(line) >= 2 and line[0] == line[-1] and line[0] in "'\"":
            line = line[1:-1]
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            continue
        headers.setdefault(name.strip(), value.strip())
    return headers


def split_url(url: str) -> tuple[str, str, str]:
    """(host, path, raw query) of a full URL or of a path with its query. The path is percent-decoded, as the
    ASGI server hands it to the gateway; the query stays raw (the signing rules decode it)."""
    url = url.strip()
    parts = urlsplit(url if "://" in url else "http://placeholder" + ("" if url.startswith("/") else "/") + url)
    host = parts.netloc if "://" in url else ""
    return host, unquote(parts.path or "/"), parts.query


# --- the variants ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Option:
    """One way a client may have built one part. ``tolerated``: the server accepts it (signing.verify does)."""

    part: str
    label: str
    value: str
    tolerated: bool = True
    standard: bool = False


@dataclass(frozen=True)
class _Variant:
    options: tuple[_Option, ...]
    legacy: bool

    @property
    def deviations(self) -> list[_Option]:
        return [o for o in self.options if not o.standard]

    @property
    def tolerated(self) -> bool:
        return all(o.tolerated for o in self.options)

    def rank(self) -> tuple[int, int]:
        return (sum(not o.tolerated for o in self.options), len(self.deviations))

    def name(self) -> str:
        kind = "legacy (pre-2021) algorithm" if self.legacy else "current algorithm"
        quirks = [o.label for o in self.deviations]
        return kind + (": " + "; ".join(quirks) if quirks else " as documented")


@dataclass(frozen=True)
class _Wire:
    """The request as the gateway sees it."""

    method: str
    host: str
    path: str
    raw_query: str
    body: bytes
    headers: dict[str, str]  # lower-cased names
    client_id: str
    sign: str
    t: str
    nonce: str
    access_token: str

    @property
    def token_path(self) -> bool:
        return is_token_path(self.path)

    def signed_request(self, body: bytes | None = None) -> SignedRequest:
        return SignedRequest(
            method=self.method, path=self.path, raw_query=self.raw_query,
            body=self.body if body is None else body, headers=self.headers, client_id=self.client_id,
            sign=self.sign, t=self.t, access_token=self.access_token, nonce=self.nonce,
        )


def _wire(req: PastedRequest) -> _Wire:
    host, path, raw_query = split_url(req.url)
    headers = {k.strip().lower(): v.strip() for k, v in req.headers.items()}
    return _Wire(
        method=req.method.strip().upper() or "GET", host=host, path=path, raw_query=raw_query, body=req.body,
        headers=headers, client_id=headers.get("client_id", ""), sign=headers.get("sign", ""),
        t=headers.get("t", ""), nonce=headers.get("nonce", ""), access_token=headers.get("access_token", ""),
    )


def _token_options(w: _Wire) -> list[_Option]:
    standard = "" if w.token_path else w.access_token
    options = [_Option("access_token", "access token as the server expects", standard, standard=True)]
    if w.token_path and w.access_token:
        options.append(_Option("access_token", "signed with the access_token although this is a token call "
                               "(token calls are signed without it)", w.access_token, tolerated=False))
    if not w.token_path and w.access_token:
        options.append(_Option("access_token", "signed without the access_token, like a token call "
                               "(business calls include it)", "", tolerated=False))
    return options


def _nonce_options(w: _Wire) -> list[_Option]:
    options = [_Option("nonce", "nonce header signed", w.nonce, standard=True)]
    if w.nonce:
        options.append(_Option("nonce", "nonce header sent but left out of the signature", "", tolerated=False))
    return options


def _json_forms(body: bytes) -> list[tuple[str, bytes]]:
    if json_refusal(body) is not None:
        return []
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return []
    forms = [
        ("compact JSON", json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode()),
        ("Python json.dumps JSON (', ' and ': ')", json.dumps(parsed).encode()),
        ("JSON with sorted keys", json.dumps(parsed, separators=(",", ":"), sort_keys=True).encode()),
    ]
    return [(label, b) for label, b in forms if b != body]


def _body_options(w: _Wire) -> list[tuple[_Option, bytes | None]]:
    """(option, the body to verify with when that option is a paste artifact, else None)."""
    raw = hashlib.sha256(w.body).hexdigest()
    out: list[tuple[_Option, bytes | None]] = [(_Option("body", "body hashed as sent", raw, standard=True), None)]
    if w.body == b"{}":
        out.append((_Option("body", "a {} body signed as empty (tuya-connector-python, tuya-iot-py-sdk)",
                            EMPTY_BODY_SHA256), None))
    elif w.body == b"":
        out.append((_Option("body", "an empty body signed as {} (tuya-connector-nodejs)", BRACES_BODY_SHA256), None))
    else:
        out.append((_Option("body", "the body was not signed (the hash of an empty body was used)",
                            EMPTY_BODY_SHA256, tolerated=False), None))
        seen = {raw, EMPTY_BODY_SHA256}
        trimmed = w.body.rstrip()
        if trimmed != w.body and hashlib.sha256(trimmed).hexdigest() not in seen:
            # Pasting adds a final newline more often than clients send one: treat it as the paste's doing.
            seen.add(hashlib.sha256(trimmed).hexdigest())
            out.append((_Option("body", "the pasted body without its trailing whitespace (a paste artifact)",
                                hashlib.sha256(trimmed).hexdigest()), trimmed))
        for label, form in _json_forms(w.body):
            digest = hashlib.sha256(form).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append((_Option("body", f"the body was signed as {label}, other bytes than were sent", digest,
                                    tolerated=False), None))
    return out


def _header_options(w: _Wire) -> list[_Option]:
    listed = w.headers.get("signature-headers", "")
    doc = header_block(listed, w.headers)
    options = [_Option("signed headers", "Signature-Headers lines as documented", doc, standard=True)]
    java = header_block(listed, w.headers, java_style=True)
    if java and java != doc:
        options.append(_Option("signed headers", "header lines without the blank line after them "
                               "(tuya-connector Java)", java))
    if doc:
        options.append(_Option("signed headers", "the headers named in Signature-Headers were not signed "
                               "(tuya-connector-nodejs sends the names but signs none)", "", tolerated=False))
    return options


def _url_options(w: _Wire) -> list[_Option]:
    pairs = parse_query(w.raw_query)
    standard = canonical_url(w.path, pairs)
    options = [_Option("url", "query decoded and sorted by key", standard, standard=True)]
    seen = {standard}

    def add(option: _Option) -> None:
        if option.value not in seen:
            seen.add(option.value)
            options.append(option)

    add(_Option("url", "query in the order sent (not sorted)", canonical_url(w.path, pairs, sort=False)))
    encoded = [(k, v) for k, _, v in (p.partition("=") for p in w.raw_query.split("&") if p)]
    add(_Option("url", "query values signed URL-encoded (sign the decoded values)",
                canonical_url(w.path, encoded), tolerated=False))
    add(_Option("url", "query signed URL-encoded and unsorted", canonical_url(w.path, encoded, sort=False),
                tolerated=False))
    if pairs:
        add(_Option("url", "the query was left out of the signed Url", w.path, tolerated=False))
    if w.host:
        add(_Option("url", "the full URL with scheme and host was signed (sign the path and query only)",
                    f"https://{w.host}{standard}", tolerated=False))
        add(_Option("url", "the full URL with http and host was signed (sign the path and query only)",
                    f"http://{w.host}{standard}", tolerated=False))
    toggled = w.path[:-1] if w.path.endswith("/") and len(w.path) > 1 else w.path + "/"
    add(_Option("url", "the path's trailing slash differs from the one sent", canonical_url(toggled, pairs),
                tolerated=False))
    return options


def _current_variants(w: _Wire) -> list[tuple[_Variant, str, str, bytes | None]]:
    """(variant, message, string to sign, body override) for every combination of the options."""
    out: list[tuple[_Variant, str, str, bytes | None]] = []
    for token, nonce, (body, body_override), headers, url in itertools.product(
        _token_options(w), _nonce_options(w), _body_options(w), _header_options(w), _url_options(w)
    ):
        sts = string_to_sign(w.method, body.value, headers.value, url.value)
        message = w.client_id + token.value + w.t + nonce.value + sts
        out.append((_Variant((token, nonce, body, headers, url), legacy=False), message, sts, body_override))
    return out


def _legacy_variants(w: _Wire, legacy_allowed: bool) -> list[tuple[_Variant, str, str, bytes | None]]:
    out: list[tuple[_Variant, str, str, bytes | None]] = []
    for token in _token_options(w):
        option = _Option("algorithm", "legacy algorithm (HMAC of client_id + token + t only)", "legacy",
                         tolerated=legacy_allowed)
        token_option = token
        # node-conn's refresh call signs the old way with its stale token: signing.verify accepts that one.
        if w.token_path and token.value and legacy_allowed:
            token_option = _Option(token.part, token.label + " (the refresh quirk of tuya-connector-nodejs)",
                                   token.value)
        out.append((_Variant((option, token_option), legacy=True), w.client_id + token.value + w.t, "", None))
    return out


# --- the checks --------------------------------------------------------------------------------------------
def _fmt_ms(ms: int) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))
    except (OverflowError, ValueError, OSError):  # a pasted t can be any number of digits
        return "not a representable time"


def _time_check(w: _Wire, now_ms: int, window_s: int) -> Check:
    expected = f"epoch milliseconds within ±{window_s} s of the server's time ({now_ms}, {_fmt_ms(now_ms)})"
    if not w.t:
        return Check("t (timestamp)", False, expected, "(missing)", "every request carries t: epoch milliseconds")
    if not (w.t.isascii() and w.t.isdigit()):
        return Check("t (timestamp)", False, expected, w.t, "t must be plain digits: epoch milliseconds")
    value = int(w.t)
    if len(w.t) <= 10:
        return Check("t (timestamp)", False, expected, w.t,
                     "this looks like seconds: t is in milliseconds (13 digits), e.g. int(time.time() * 1000)")
    skew_s = (value - now_ms) / 1000
    got = f"{w.t} ({_fmt_ms(value)}), {skew_s:+.0f} s from the server's time"
    if abs(skew_s) > window_s:
        return Check("t (timestamp)", False, expected, got,
                     "outside the window: the server answers 1013 'request time is invalid'. A pasted old request "
                     "shows this too; check the client's clock otherwise")
    return Check("t (timestamp)", True, expected, got)


def _sign_format_check(w: _Wire) -> Check:
    expected = "64 hex characters, upper case"
    if not w.sign:
        return Check("sign (format)", False, expected, "(missing)", "the sign header is required")
    if len(w.sign) != 64 or not set(w.sign) <= HEX:
        return Check("sign (format)", False, expected, w.sign,
                     "not a hex HMAC-SHA256: not base64, not MD5 (sign_method HMAC-SHA256 only)")
    if w.sign != w.sign.upper():
        return Check("sign (format)", True, expected, w.sign,
                     "lower-case hex: this server accepts it, the platform documents upper case")
    return Check("sign (format)", True, expected, w.sign)


def _sign_method_check(w: _Wire) -> Check:
    got = w.headers.get("sign_method", "")
    if not got:
        return Check("sign_method", True, "HMAC-SHA256", "(absent)", "optional; HMAC-SHA256 is assumed")
    ok = got.upper() == "HMAC-SHA256"
    return Check("sign_method", ok, "HMAC-SHA256", got, "" if ok else "only HMAC-SHA256 is supported")


def _access_token_check(w: _Wire, needs_token: bool) -> Check:
    if w.token_path:
        hint = "token calls are signed without it; the header is ignored" if w.access_token else ""
        return Check("access_token", True, "(none: a token call)", w.access_token or "(absent)", hint)
    if not needs_token:
        return Check("access_token", True, "(empty: a login call)", w.access_token or "(absent)")
    if not w.access_token:
        return Check("access_token", False, "the access token from GET /v1.0/token", "(missing)",
                     "business calls carry access_token and sign it: get one with GET /v1.0/token?grant_type=1")
    return Check("access_token", True, "the access token from GET /v1.0/token", w.access_token)


def _signature_headers_check(w: _Wire) -> Check | None:
    listed = w.headers.get("signature-headers", "")
    if not listed:
        return None
    names = [n.strip() for n in listed.split(":") if n.strip()]
    missing = [n for n in names if n.lower() not in w.headers]
    got = ", ".join(f"{n}: {w.headers.get(n.lower(), '(missing)')}" for n in names)
    hint = f"named but not sent (signed as empty): {', '.join(missing)}" if missing else ""
    return Check("Signature-Headers", not missing, "each named header sent", got, hint)


# --- the diagnosis -----------------------------------------------------------------------------------------
def _parts(w: _Wire, server: _Variant, client: _Variant | None) -> list[Part]:
    def value(variant: _Variant, part: str, default: str = "") -> str:
        for o in variant.options:
            if o.part == part:
                return o.value
        return default

    def shown(v: str) -> str:
        return v.replace("\n", "\\n")

    rows = [("client_id", w.client_id, w.client_id), ("access_token", value(server, "access_token"), None),
            ("t", w.t, w.t), ("nonce", value(server, "nonce"), None), ("method", w.method, None),
            ("Content-SHA256", value(server, "body"), None), ("signed headers", shown(value(server, "signed headers")),
                                                              None),
            ("url", value(server, "url"), None)]
    parts = []
    for name, server_value, fixed in rows:
        if client is None:
            client_value: str | None = None
        elif client.legacy and name in ("nonce", "method", "Content-SHA256", "signed headers", "url"):
            client_value = "(not signed: legacy)"
        elif fixed is not None:
            client_value = fixed
        else:
            key = {"Content-SHA256": "body"}.get(name, name)
            raw = value(client, key, w.method if name == "method" else "")
            client_value = shown(raw) if name == "signed headers" else raw
        parts.append(Part(name, server_value, client_value))
    return parts


def diagnose(req: PastedRequest, *, secret: str | None, now_ms: int, window_s: int, legacy_allowed: bool,
             needs_token: bool | None = None, project_hint: str = "") -> SignatureReport:
    """The full report for one pasted request. ``secret`` is None when no project has that client_id.

    ``needs_token``: whether the API is a business call (None: decided by the path, like signing does).
    """
    w = _wire(req)
    if needs_token is None:
        needs_token = not w.token_path
    legacy_allowed = legacy_allowed or w.path.startswith("/v1.0/token/")
    checks: list[Check] = []
    client_ok = secret is not None and bool(w.client_id)
    checks.append(Check("client_id", client_ok, "the Access ID of a project on this cloud",
                        w.client_id or "(missing)",
                        "" if client_ok else (project_hint or "no project has this Access ID (check the data "
                                              "center and copy it again from the project page)")))
    time_check = _time_check(w, now_ms, window_s)
    token_check = _access_token_check(w, needs_token)
    checks += [time_check, _sign_format_check(w), _sign_method_check(w), token_check]
    sh = _signature_headers_check(w)
    if sh is not None:
        checks.append(sh)

    variants = _current_variants(w)
    standard = variants[0]
    server_variant, server_message, server_sts, _ = standard
    server_prefix = server_message[: len(server_message) - len(server_sts)]
    if secret is None:
        return SignatureReport(
            verified=False, signature_ok=False, matched_variant=None, differs=["client_id"],
            summary="Unknown client_id: without the project's secret nothing else can be checked.",
            checks=checks, parts=_parts(w, server_variant, None), server_string_to_sign=server_sts,
            server_prefix=server_prefix, expected_sign="",
        )
    expected_sign = hmac_upper(secret, server_message)
    given = w.sign.strip().upper()
    best: tuple[_Variant, str, str, bytes | None] | None = None
    if given:
        candidates = sorted([*variants, *_legacy_variants(w, legacy_allowed)], key=lambda c: c[0].rank())
        for candidate in candidates:
            if hmac_upper(secret, candidate[1]) == given:
                best = candidate
                break
    notes: list[str] = []
    if best is None and given and req.client_string_to_sign.strip():
        best = _from_client_sts(w, secret, given, req.client_string_to_sign, server_variant, notes)
    signature_ok = False
    if best is not None and best[0].tolerated:
        # The verdict is signing.verify's: the gateway runs exactly this.
        signature_ok = verify(w.signed_request(best[3]), secret, allow_legacy=legacy_allowed) is not None
    elif given:
        signature_ok = verify(w.signed_request(), secret, allow_legacy=legacy_allowed) is not None
    differs: set[str] = set()
    matched: str | None = None
    client_sts: str | None = None
    if best is not None:
        variant = best[0]
        matched = variant.name()
        client_sts = best[2] or None
        differs = {o.part for o in variant.options if not o.tolerated}
        notes += [o.label for o in variant.deviations if o.tolerated]
    if not time_check.ok:
        differs.add("t")
    if not token_check.ok:
        differs.add("access_token")
    sig_check = Check("signature", signature_ok, expected_sign, w.sign or "(missing)",
                      "" if signature_ok else _signature_hint(best))
    checks.append(sig_check)
    checks += _part_checks(w, standard[0], best[0] if best else None)
    verified = signature_ok and client_ok and bool(time_check.ok) and bool(token_check.ok)
    summary = _summary(verified, signature_ok, [c for c in (time_check, token_check) if not c.ok], best,
                       sorted(differs))
    return SignatureReport(
        verified=verified, signature_ok=signature_ok, matched_variant=matched, differs=sorted(differs),
        summary=summary,
        checks=checks, parts=_parts(w, server_variant, best[0] if best else None),
        server_string_to_sign=server_sts, server_prefix=server_prefix, expected_sign=expected_sign,
        client_string_to_sign=client_sts, notes=notes,
    )


def _split_sts(sts: str) -> tuple[str, str, str, str] | None:
    """(method, body hash, header lines, url) of a string to sign; None when it does not have that shape."""
    lines = sts.split("\n")
    if len(lines) < 3:
        return None
    return lines[0], lines[1], "\n".join(lines[2:-1]), lines[-1]


def _from_client_sts(w: _Wire, secret: str, given: str, raw: str, server: _Variant,
                     notes: list[str]) -> tuple[_Variant, str, str, bytes | None] | None:
    """A variant made of the client's own string to sign, compared part by part with the server's."""
    sts = raw.replace("\r\n", "\n").strip("\n")
    if "\n" not in sts and "\\n" in sts:  # logged with escaped newlines
        sts = sts.replace("\\n", "\n")
    mine = _split_sts(sts)
    theirs = _split_sts(string_to_sign(w.method, *[o.value for o in server.options if o.part in
                                                   ("body", "signed headers", "url")]))
    if mine is None or theirs is None:
        notes.append("the pasted string to sign does not have the METHOD, hash, headers, Url lines")
        return None
    labels = {
        "method": "the client signed another HTTP method",
        "body": "the client hashed other body bytes than were sent (Content-SHA256 differs)",
        "signed headers": "the client signed other header lines",
        "url": "the client signed another Url (path or query)",
    }
    sts_options = []
    for part, client_value, server_value in zip(("method", "body", "signed headers", "url"), mine, theirs,
                                                strict=True):
        same = client_value == server_value
        sts_options.append(_Option(part, "" if same else labels[part], client_value, tolerated=same, standard=same))
    for token, nonce in itertools.product(_token_options(w), _nonce_options(w)):
        if hmac_upper(secret, w.client_id + token.value + w.t + nonce.value + sts) == given:
            notes.append("the signature is reproduced from the pasted string to sign")
            return _Variant((token, nonce, *sts_options), legacy=False), "", sts, None
    notes.append("the pasted string to sign does not reproduce the signature with this project's secret and the "
                 "client_id, access_token, t and nonce headers: one of those, or the secret, differs too")
    prefix = _Option("prefix or secret", "client_id, access_token, t or nonce as signed, or the secret, differ "
                     "from the headers sent", "?", tolerated=False)
    return _Variant((prefix, *sts_options), legacy=False), "", sts, None


def _part_checks(w: _Wire, server: _Variant, client: _Variant | None) -> list[Check]:
    """Per signed part: the server's value next to the one the matched variant implies, with its hint."""
    checks = []
    by_part = {o.part: o for o in client.options} if client else {}
    for option in server.options:
        name = {"body": "body hash (Content-SHA256)", "url": "Url (path and query)", "access_token":
                "access_token (as signed)", "nonce": "nonce (as signed)"}.get(option.part, option.part)
        if client is None:
            got, ok, hint = "unknown: no known way of signing reproduces the signature", None, ""
        elif client.legacy and option.part in ("nonce", "body", "signed headers", "url"):
            got, ok, hint = "(not signed: legacy algorithm)", client.tolerated, ""
        else:
            mine = by_part.get(option.part, option)
            got, ok, hint = mine.value, mine.tolerated, "" if mine.standard else mine.label
        if option.part == "body" and client is None:
            got = "unknown: the client's hash cannot be recovered from the signature"
        checks.append(Check(name, ok, option.value.replace("\n", "\\n"), got.replace("\n", "\\n"), hint))
    known = {o.part for o in server.options}
    for extra in client.options if client else ():
        if extra.part not in known and extra.part != "algorithm" and not extra.standard:
            checks.append(Check(extra.part, extra.tolerated, "as the server computes it", extra.value, extra.label))
    if client is not None and client.legacy:
        legacy = next(o for o in client.options if o.part == "algorithm")
        checks.append(Check("algorithm", legacy.tolerated, "current (HMAC over the string to sign)",
                            "legacy (pre-2021)", "" if legacy.tolerated else
                            "this project accepts the current algorithm only: enable legacy signing on the project, "
                            "or switch the client to the new algorithm (tinytuya: new_sign_algorithm=True)"))
    return checks


def _signature_hint(best: tuple[_Variant, str, str, bytes | None] | None) -> str:
    if best is None:
        return ("no known way of signing this request reproduces the signature: most likely the secret differs "
                "(rotated? another project's?), or the client signed other bytes than it sent")
    wrong = [o.label for o in best[0].options if not o.tolerated]
    return "reproduced by: " + "; ".join(wrong)


def _summary(verified: bool, signature_ok: bool, failed: list[Check],
             best: tuple[_Variant, str, str, bytes | None] | None, differs: list[str]) -> str:
    if verified:
        return "Verified: the server accepts this signature (" + (best[0].name() if best else "current") + ")."
    if signature_ok:
        return "The signature is correct, but the server refuses the request: " + "; ".join(
            f"{c.name}: {c.hint or c.got}" for c in failed) + "."
    if best is not None:
        return "The signature does not verify. It is what the client computes when: " + "; ".join(
            o.label for o in best[0].options if not o.tolerated) + f". Differs: {', '.join(differs)}."
    return ("The signature does not verify, and no known way of signing reproduces it: compare the server's "
            "string to sign below with the client's, and check the secret.")


# --- with the store ----------------------------------------------------------------------------------------
async def check(ctx: Context, req: PastedRequest, needs_token: Callable[[str, str], bool | None] | None = None,
                ) -> SignatureReport:
    """Look the project up by client_id (any region: the page is not bound to a data center) and diagnose.

    ``needs_token(method, path)`` tells whether the API takes an access token (from the route table);
    when the token is a real one, its state is reported too (a correct signature with an expired token is 1010).
    """
    headers = {k.strip().lower(): v.strip() for k, v in req.headers.items()}
    client_id = headers.get("client_id", "")
    project = await ctx.store.get_project(client_id) if client_id else None
    hint = ""
    if project is None and client_id:
        wanted = client_id.strip().lower()
        for p in await ctx.store.list_projects():
            if p.access_id.lower() == wanted:
                hint = f"no project has this Access ID; did you mean {p.access_id} (letter case differs)?"
                break
    _, path, _ = split_url(req.url)
    business = needs_token(req.method.upper(), path) if needs_token else None
    report = diagnose(
        req, secret=project.access_secret if project else None, now_ms=ctx.clock.now_ms(),
        window_s=ctx.policy.timestamp_window_s, legacy_allowed=bool(project and project.legacy_signing),
        needs_token=business, project_hint=hint,
    )
    token = headers.get("access_token", "")
    if project is not None and token and not is_token_path(path) and business is not False:
        state = await _token_state(ctx, project.access_id, token)
        report.checks.append(state)
        if not state.ok and report.verified:
            report.verified = False
            report.summary = f"The signature is correct, but the access token is not usable: {state.hint}."
    return report


async def _token_state(ctx: Context, access_id: str, access_token: str) -> Check:
    token = await ctx.store.get_token(access_token)
    expected = "a live access token of this project"
    if token is None:
        return Check("access_token (state)", False, expected, "unknown token",
                     "the server answers 1010 'token invalid': get a new token")
    if token.access_id != access_id:
        return Check("access_token (state)", False, expected, "a token of another project",
                     "the server answers 1010 'token invalid'")
    if not is_live(token, ctx.clock.now_ms()):
        return Check("access_token (state)", False, expected, f"expired or refreshed away at "
                     f"{_fmt_ms(min(token.expires_ms, token.revoked_ms or token.expires_ms))}",
                     "the server answers 1010 'token invalid': refresh or get a new token")
    return Check("access_token (state)", True, expected, f"live until {_fmt_ms(token.expires_ms)}")
