#!/usr/bin/env python3
"""Writes the seed corpus of FuzzVerify and FuzzParseBearer.

Tokens are signed with the test-only secret of token_test.go and dated at
the fuzz target's fixed clock (2026-03-04T05:06:07Z), so the valid ones are
accepted and every mutation starts from a real token. Run from the repository
root: python3 testdata/fuzz/gen_token_seeds.py
"""
import base64, hashlib, hmac, json, os

SECRET = b"0123456789abcdef0123456789abcdef-test-only"
NOW = 1772600767  # 2026-03-04T05:06:07Z


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(header, claims, secret=SECRET):
    h = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    c = claims if isinstance(claims, str) else json.dumps(claims, separators=(",", ":"))
    signing = b64(h.encode()) + "." + b64(c.encode())
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(sig)


def claims(**edit):
    c = {"iss": "iss", "sub": "user-1", "aud": "aud", "exp": NOW + 60, "iat": NOW, "jti": "j1", "ver": 0}
    c.update(edit)
    return {k: v for k, v in c.items() if v is not None}


H = {"alg": "HS256", "kid": "k1", "typ": "at+jwt"}
valid = token(H, claims())
seeds = {
    "valid": valid,
    "valid_aud_array": token(H, claims(aud=["x", "aud"])),
    "valid_custom_claims": token(H, claims(scope="read write", roles=["admin"])),
    "expired": token(H, claims(exp=NOW - 3600)),
    "refresh_type": token(dict(H, typ="rt+jwt"), claims(sid="s1")),
    "alg_none": b64(b'{"alg":"none","kid":"k1","typ":"at+jwt"}') + "." + valid.split(".")[1] + ".",
    "alg_hs512": token(dict(H, alg="HS512"), claims()),
    "unknown_kid": token(dict(H, kid="../../etc/passwd"), claims()),
    "jku": token(dict(H, jku="https://evil.example/jwks"), claims()),
    "crit": token(dict(H, crit=["exp"]), claims()),
    "dup_header": token('{"alg":"none","kid":"k1","typ":"at+jwt","alg":"HS256"}', claims()),
    "dup_claim": token(H, '{"iss":"iss","sub":"a","aud":"aud","exp":%d,"iat":%d,"jti":"j","sub":"b"}' % (NOW + 60, NOW)),
    "case_claim": token(H, '{"iss":"iss","sub":"a","aud":"aud","EXP":%d,"iat":%d,"jti":"j"}' % (NOW + 60, NOW)),
    "fractional_exp": token(H, '{"iss":"iss","sub":"a","aud":"aud","exp":%d.5,"iat":%d,"jti":"j"}' % (NOW + 60, NOW)),
    "wrong_secret": token(H, claims(), secret=b"another-secret-another-secret-32b"),
    "dots": "." * 64,
    "empty": "",
}
corpus = os.path.join(os.path.dirname(__file__), "FuzzVerify")
for name, tok in seeds.items():
    with open(os.path.join(corpus, name), "w") as f:
        f.write("go test fuzz v1\nstring(%s)\n" % json.dumps(tok))

headers = {
    "bearer": "Bearer " + valid,
    "lower": "bearer abc",
    "spaces": "Bearer   abc==",
    "basic": "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
    "scheme_only": "Bearer",
    "two_tokens": "Bearer a b",
    "quoted": 'Bearer "abc"',
    "empty": "",
}
corpus = os.path.join(os.path.dirname(__file__), "FuzzParseBearer")
for name, h in headers.items():
    with open(os.path.join(corpus, name), "w") as f:
        f.write("go test fuzz v1\nstring(%s)\nbool(false)\n" % json.dumps(h))
