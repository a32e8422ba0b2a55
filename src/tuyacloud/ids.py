"""Identifiers in the shapes Tuya uses. Seedable so tests can make runs deterministic."""

from __future__ import annotations

import base64
import itertools
import random
import secrets
import string

_ALNUM = string.ascii_lowercase + string.digits
_ALNUM_MIXED = string.ascii_letters + string.digits


class IdSource:
    """Makes ids; ``seed`` gives a reproducible sequence (never use a seed for real secrets)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random: random.Random | None = random.Random(seed) if seed is not None else None
        # Unique, not secret: a random 64-bit prefix per process and a counter from a random start.
        start = self._random.getrandbits(62) if self._random is not None else secrets.randbits(62)
        self._unique_prefix = self.hex(16)
        self._unique_counter = itertools.count(start)

    def unique_hex(self) -> str:
        """32 hex characters unique across processes and restarts, for ids that are not secrets (a message's
        ``dataId``, a frame's ``tid``, a response's trace id). On every event's path, so it costs a counter
        step, not a trip to the OS for random bytes as ``hex`` does."""
        return f"{self._unique_prefix}{next(self._unique_counter) & 0xFFFFFFFFFFFFFFFF:016x}"

    def _choice(self, alphabet: str, n: int) -> str:
        if self._random is not None:
            return "".join(self._random.choice(alphabet) for _ in range(n))
        return "".join(secrets.choice(alphabet) for _ in range(n))

    def hex(self, n: int = 32) -> str:
        """Lower-case hex; on the hot path (message and trace ids), so no per-character choice."""
        if self._random is not None:
            return f"{self._random.getrandbits(4 * n):0{n}x}"
        return secrets.token_hex((n + 1) // 2)[:n]

    def access_id(self) -> str:
        return self._choice(_ALNUM, 20)

    def access_secret(self) -> str:
        return self._choice(_ALNUM, 32)

    def token(self) -> str:
        return self.hex(32)

    def uid(self, region_prefix: str = "az") -> str:
        return region_prefix + self._choice(string.digits, 13) + self._choice(_ALNUM_MIXED, 5)

    def device_id(self) -> str:
        # Tuya's own virtual devices are named "vdevo" + digits; keep that so people recognise them.
        return "vdevo" + self._choice(string.digits, 17)

    def local_key(self) -> str:
        return self._choice(_ALNUM_MIXED + "'<>|=~", 16)

    def alnum(self, n: int) -> str:
        """Mixed-case letters and digits (pairing tokens "H73H8u7A", secrets "p4pX")."""
        return self._choice(_ALNUM_MIXED, n)

    def numeric(self, n: int) -> str:
        """A number of ``n`` digits without a leading zero (home and room ids are Longs)."""
        return self._choice("123456789", 1) + self._choice(string.digits, n - 1)

    def device_uuid(self) -> str:
        return self.hex(16)

    def urlsafe(self, nbytes: int) -> str:
        """``nbytes`` random bytes as URL-safe base64 (console passwords, session and CSRF tokens)."""
        if self._random is not None:
            return base64.urlsafe_b64encode(self._random.randbytes(nbytes)).rstrip(b"=").decode()
        return secrets.token_urlsafe(nbytes)
