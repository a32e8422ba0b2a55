"""Salted scrypt hashes for every stored password (project users, app users, console accounts).

Stored as ``scrypt$n$r$p$salt$hash`` so the cost can be raised later without invalidating existing hashes: a
verification reads the parameters of the hash it checks. Pure and synchronous (the callers run it in a thread:
a hash takes tens of milliseconds on purpose).
"""

from __future__ import annotations

import hashlib
import hmac
import os

R, P = 8, 1
MAXMEM = 64 << 20
# A well-formed hash of nothing, to verify against when an account does not exist, so that "no such user" takes
# as long as "wrong password" and the timing does not tell usernames apart.
DUMMY_HASH = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 32


def hash_password(secret: str, n: int) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=R, p=P, dklen=32, maxmem=MAXMEM)
    return f"scrypt${n}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(secret: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=len(digest) // 2, maxmem=MAXMEM)
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)
