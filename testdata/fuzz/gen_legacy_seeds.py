#!/usr/bin/env python3
"""Writes the seed corpus of FuzzVerifyLegacy: tokens as the FastAPI
tutorials mint them (PyJWT: header {"alg":"HS256","typ":"JWT"}, claims sub
and exp, some with iat), and their near misses.

Tokens are signed with the test-only secret of token_test.go and dated at
the fuzz target's fixed clock (2026-03-04T05:06:07Z), so the valid ones are
accepted and every mutation starts from a real token. Run from the
repository root: python3 testdata/fuzz/gen_legacy_seeds.py
"""
import base64, hashlib, hmac, json, os

SECRET = b"0123456789abcdef0123456789abcdef-test-only"
NOW = 1772600767  # 2026-03-04T05:06:07Z


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(header, claims, secret=SECRET, digest=hashlib.sha256):
    h = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    c = claims if isinstance(claims, str) else json.dumps(claims, separators=(",", ":"))
    signing = b64(h.encode()) + "." + b64(c.encode())
    sig = hmac.new(secret, signing.encode(), digest).digest()
    return signing + "." + b64(sig)


H = {"alg": "HS256", "typ": "JWT"}
TUTORIAL = {"sub": "alice", "exp": NOW + 900}
valid = token(H, TUTORIAL)
seeds = {
    "tutorial": valid,
    "with_iat": token(H, dict(TUTORIAL, iat=NOW)),
    "email_sub": token(H, dict(TUTORIAL, sub="alice@example.com")),
    "scopes": token(H, dict(TUTORIAL, scopes=["me", "items"])),
    "no_typ": token({"alg": "HS256"}, TUTORIAL),
    "typ_at_jwt": token(dict(H, typ="at+jwt"), TUTORIAL),
    "our_iss": token(H, dict(TUTORIAL, iss="goauthkit")),
    "no_exp": token(H, {"sub": "alice"}),
    "expired": token(H, dict(TUTORIAL, exp=NOW - 3600)),
    "alg_none": b64(b'{"alg":"none","typ":"JWT"}') + "." + valid.split(".")[1] + ".",
    "alg_hs384": token(dict(H, alg="HS384"), TUTORIAL, digest=hashlib.sha384),
    "wrong_secret": token(H, TUTORIAL, secret=b"another-secret-another-secret-32b"),
    "dup_claim": token(H, '{"sub":"mallory","exp":%d,"sub":"alice"}' % (NOW + 900)),
    "case_claim": token(H, '{"sub":"alice","exp":%d,"Exp":1}' % (NOW + 900)),
    "fractional_exp": token(H, '{"sub":"alice","exp":%d.5}' % (NOW + 900)),
    "empty": "",
}
corpus = os.path.join(os.path.dirname(__file__), "FuzzVerifyLegacy")
os.makedirs(corpus, exist_ok=True)
for name, tok in seeds.items():
    with open(os.path.join(corpus, name), "w") as f:
        f.write("go test fuzz v1\nstring(%s)\n" % json.dumps(tok))
