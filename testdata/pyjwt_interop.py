#!/usr/bin/env python3
"""Interop check with PyJWT (Debian's python3-jwt), run by TestPyJWTInterop.

Usage: pyjwt_interop.py JWKS_URL ACCESS_TOKEN PRIVATE_KEY_PEM ALG KID

1. Verifies ACCESS_TOKEN (issued by our library) with PyJWKClient fetching
   our JWKS_URL, checking signature, exp, iss and aud; prints
   "verified <last 8 characters of the token>".
2. Signs a token of its own with the PEM private key (a key from our key
   set), with our header (kid, typ at+jwt) and claims; prints it.
"""
import sys
import time

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

url, token, key_path, alg, kid = sys.argv[1:6]

signing_key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
claims = jwt.decode(
    token,
    signing_key.key,
    algorithms=[alg],
    audience="goauthkit",
    issuer="goauthkit",
    options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
)
print("verified", token[-8:])

with open(key_path, "rb") as f:
    private_key = load_pem_private_key(f.read(), password=None)
now = int(time.time())
ours = jwt.encode(
    {
        "iss": "goauthkit",
        "aud": "goauthkit",
        "sub": claims["sub"],
        "exp": now + 60,
        "iat": now,
        "jti": "pyjwt",
        "ver": claims["ver"],
    },
    private_key,
    algorithm=alg,
    headers={"kid": kid, "typ": "at+jwt"},
)
print(ours)
