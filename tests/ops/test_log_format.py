"""The log formatters and the scrubber on their own: what the subprocess test cannot provoke on demand (a traceback,
a third-party message naming a secret) still comes out as one JSON object per line with the secret masked."""

from __future__ import annotations

import json
import logging
import sys

from tuyacloud.logs import JsonFormatter, TextFormatter, loggable_path, scrub

TOKEN = "0123456789abcdef0123456789abcdef"


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"access_token={TOKEN}\nsecond line")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("third.party", logging.ERROR, __file__, 1, message, args, exc_info)


def test_scrub_masks_the_value_after_a_secret_key_in_the_usual_spellings() -> None:
    for text in (f"access_token={TOKEN}", f'{{"access_token": "{TOKEN}"}}', f"Authorization: Bearer {TOKEN}",
                 f"refresh_token: {TOKEN}", f"password={TOKEN}&x=1", f"'secret': '{TOKEN}'", f"sign={TOKEN}",
                 f"Cookie: tuyacloud_console={TOKEN}"):
        assert TOKEN not in scrub(text), text
    assert scrub("sign_method=HMAC-SHA256 t=1700000000000") == "sign_method=HMAC-SHA256 t=1700000000000"


def test_json_lines_hold_a_traceback_in_one_line_without_the_secret() -> None:
    line = JsonFormatter().format(record("request failed with password=%s", "hunter2-long-password", exc=True))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "error" and parsed["logger"] == "third.party"
    assert "hunter2-long-password" not in line and TOKEN not in line
    assert "ValueError" in parsed["exc"] and parsed["ts"].endswith("Z")


def test_text_lines_are_scrubbed_too() -> None:
    assert TOKEN not in TextFormatter().format(record("got access_token=%s", TOKEN))


def test_loggable_path_keeps_ids_and_drops_secret_parameters() -> None:
    assert loggable_path("/v1.0/devices/{device_id}", "/v1.0/devices/vdevo123") == "/v1.0/devices/vdevo123"
    assert loggable_path("/v1.0/token/{refresh_token}", f"/v1.0/token/{TOKEN}") == "/v1.0/token/{refresh_token}"
    assert loggable_path("/_tuyacloud/registration/{token}/pair", f"/_tuyacloud/registration/{TOKEN}/pair") == (
        "/_tuyacloud/registration/{token}/pair")
    assert loggable_path(None, f"/v2.0/token/{TOKEN}/x") == "/v2.0/token/***/x"
    assert loggable_path(None, "/v1.0/no/such/vdevo123") == "/v1.0/no/such/vdevo123"
