#!/usr/bin/python3
"""Known-answer password hashes made by the Python libraries a FastAPI
service typically uses (passlib, argon2-cffi, pwdlib-style argon2id), so
that users migrated to github.com/goauthkit/auth keep their passwords.

Run with Debian's interpreter, which has python3-passlib, python3-argon2
and python3-bcrypt (the pyenv python3 on PATH does not):

    /usr/bin/python3 testdata/vectors/gen_vectors.py [OUT.json]

writes OUT.json (default: python_hashes.json next to this script). Salts
are random, so every run gives different hashes; all of them must pass the
Go test TestPythonVectors.

    /usr/bin/python3 testdata/vectors/gen_vectors.py verify < in.json

reads [{"scheme": "argon2"|"bcrypt", "password": ..., "hash": ...}, ...]
and prints a JSON list of booleans: whether Python verifies each one (the
other direction of interop, used by TestPythonInteropLive).

Each vector is {source, password, hash, go_verifies, reject, note}:
go_verifies says whether the Go hashers must accept password against hash
(false only where Python silently truncated a bcrypt password over 72
bytes); reject lists other passwords that the Go hashers must refuse.
"""

import json
import os
import sys
import unicodedata

import argon2
import bcrypt as pyca_bcrypt
import passlib
from passlib import exc as passlib_exc
from passlib.hash import bcrypt as passlib_bcrypt

try:
    from passlib.hash import argon2 as passlib_argon2

    if not passlib_argon2.has_backend():
        passlib_argon2 = None
except ImportError:  # pragma: no cover - depends on the passlib build
    passlib_argon2 = None

ASCII = "correct horse battery staple"
LATIN = unicodedata.normalize("NFC", "p\u00e4ssw\u00f6rd-\u00e9-\u00f1")
EMOJI = "\U0001f510 hunter2 \U0001f511\U0001f40d"
CJK = "\u5bc6\u7801\u662f\u79d8\u5bc6\u7684\u4e1c\u897f"
EXACT72 = ("0123456789abcdef" * 5)[:72]
EXACT72_CJK = "\u5bc6" * 24  # 24 x 3 bytes
OVER72 = EXACT72 + "X"  # 73 bytes, first 72 are EXACT72
LONG = ("long passphrase \u00e9 " * 12)[:180]
SPACES = "  spaced out password  "
NFC = unicodedata.normalize("NFC", "cr\u00e8me br\u00fbl\u00e9e")
NFD = unicodedata.normalize("NFD", NFC)

assert len(EXACT72.encode()) == 72 and len(EXACT72_CJK.encode()) == 72
assert len(OVER72.encode()) == 73 and len(LONG.encode()) > 72
assert NFC != NFD and unicodedata.normalize("NFC", NFD) == NFC


def b72(s):
    """The first 72 bytes of s, as str (they must end on a character boundary)."""
    return s.encode()[:72].decode()


# Passwords that must not verify against a hash of the key, beyond the
# generic wrong password the Go test makes itself.
REJECT = {
    SPACES: [SPACES.strip(), SPACES.lstrip(), SPACES.rstrip()],
    NFC: [NFD],
    NFD: [NFC],
    LATIN: [unicodedata.normalize("NFD", LATIN), LATIN.upper()],
    ASCII: [ASCII.upper(), ASCII.capitalize()],
    EXACT72: [EXACT72[:71], OVER72],
    EXACT72_CJK: [EXACT72_CJK[:23], EXACT72_CJK + "\u5bc6"],
    OVER72: [EXACT72],
    LONG: [b72(LONG), LONG[:-1]],
}

ALL = [ASCII, LATIN, EMOJI, CJK, EXACT72, EXACT72_CJK, OVER72, LONG, SPACES, NFC, NFD]
UPTO72 = [p for p in ALL if len(p.encode()) <= 72]

# argon2-cffi's PasswordHasher() defaults since 21.2 (RFC 9106 low-memory
# profile), which pwdlib's Argon2Hasher() uses too. The installed
# PasswordHasher() may be older, with other defaults: both are recorded.
RFC9106_LOW_MEMORY = dict(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16)
LOW_COST = dict(time_cost=1, memory_cost=64, parallelism=1, hash_len=16, salt_len=8)


def vector(source, password, hash_, go_verifies=True, note="", reject=None):
    return {
        "source": source,
        "password": password,
        "hash": hash_,
        "go_verifies": go_verifies,
        "reject": REJECT.get(password, []) if reject is None else reject,
        "note": note,
    }


def over72_behaviour():
    """What passlib and pyca bcrypt do with a password over 72 bytes."""
    out = {}
    try:
        h = passlib_bcrypt.using(rounds=4).hash(OVER72)
        both = passlib_bcrypt.verify(OVER72, h) and passlib_bcrypt.verify(EXACT72, h)
        out["passlib_bcrypt_default"] = "truncates silently to 72 bytes" if both else "hashes all bytes"
    except (ValueError, passlib_exc.PasswordSizeError) as e:
        out["passlib_bcrypt_default"] = "raises %s" % type(e).__name__
    try:
        passlib_bcrypt.using(rounds=4, truncate_error=True).hash(OVER72)
        out["passlib_bcrypt_truncate_error"] = "accepted"
    except (ValueError, passlib_exc.PasswordSizeError) as e:
        out["passlib_bcrypt_truncate_error"] = "raises %s" % type(e).__name__
    try:
        h = pyca_bcrypt.hashpw(OVER72.encode(), pyca_bcrypt.gensalt(4))
        ok = pyca_bcrypt.checkpw(EXACT72.encode(), h)
        out["pyca_bcrypt_hashpw"] = "truncates silently to 72 bytes" if ok else "hashes all bytes"
    except ValueError as e:
        out["pyca_bcrypt_hashpw"] = "raises %s" % type(e).__name__
    return out


def generate():
    vs = []

    def bcrypt_vectors(source, handler, passwords):
        for p in passwords:
            vs.append(vector(source, p, handler.hash(p)))

    bcrypt_vectors("passlib bcrypt $2b$ rounds=10", passlib_bcrypt.using(rounds=10), UPTO72)
    bcrypt_vectors("passlib bcrypt $2b$ rounds=12", passlib_bcrypt.using(rounds=12), [ASCII, EMOJI])
    bcrypt_vectors("passlib bcrypt $2a$ rounds=10", passlib_bcrypt.using(rounds=10, ident="2a"), [ASCII, CJK])
    bcrypt_vectors("passlib bcrypt $2y$ rounds=10", passlib_bcrypt.using(rounds=10, ident="2y"), [ASCII, LATIN])
    bcrypt_vectors("pyca bcrypt.hashpw $2b$ rounds=10",
                   type("H", (), {"hash": staticmethod(
                       lambda p: pyca_bcrypt.hashpw(p.encode(), pyca_bcrypt.gensalt(10)).decode())}),
                   [ASCII, EMOJI])

    # Over 72 bytes: passlib's default truncates silently (or, in newer
    # bcrypt backends, raises). Where it produced a hash, Go must refuse the
    # long password, and accept only its 72-byte prefix.
    for p in [OVER72, LONG]:
        try:
            h = passlib_bcrypt.using(rounds=10).hash(p)
        except (ValueError, passlib_exc.PasswordSizeError):
            continue
        note = "passlib truncated this %d-byte password to 72 bytes; Python verifies it, Go must not" % len(p.encode())
        # The hash is that of the 72-byte prefix, which Go accepts; any
        # longer password sharing the prefix (this one too) it refuses.
        vs.append(vector("passlib bcrypt $2b$ rounds=10, over 72 bytes", p, h, go_verifies=False, note=note,
                         reject=[b72(p) + "Z"]))
        vs.append(vector("passlib bcrypt $2b$ rounds=10, over 72 bytes", b72(p), h,
                         note="the 72-byte prefix of a longer password passlib truncated",
                         reject=[p, b72(p)[:-1]]))

    ph = argon2.PasswordHasher()
    installed = "argon2-cffi %s PasswordHasher() defaults (m=%d,t=%d,p=%d,hash_len=%d,salt_len=%d)" % (
        argon2.__version__, ph.memory_cost, ph.time_cost, ph.parallelism, ph.hash_len, ph.salt_len)
    for p in [ASCII, NFC]:
        vs.append(vector(installed, p, ph.hash(p)))
    rfc = argon2.PasswordHasher(**RFC9106_LOW_MEMORY)
    for p in [CJK, OVER72]:
        vs.append(vector("argon2-cffi>=21.2 PasswordHasher() defaults (m=65536,t=3,p=4)", p, rfc.hash(p)))
    for p in [SPACES, LATIN]:
        vs.append(vector("pwdlib-style Argon2Hasher() (argon2-cffi defaults m=65536,t=3,p=4)", p, rfc.hash(p)))
    low = argon2.PasswordHasher(**LOW_COST)
    for p in ALL:
        vs.append(vector("argon2-cffi PasswordHasher low cost (m=64,t=1,p=1,hash_len=16,salt_len=8)", p, low.hash(p)))
    if passlib_argon2 is not None:
        h = passlib_argon2
        src = "passlib argon2 defaults (type=%s,m=%d,t=%d,p=%d)" % (h.type, h.memory_cost, h.default_rounds, h.parallelism)
        for p in [EMOJI, OVER72]:
            vs.append(vector(src, p, h.hash(p)))

    for v in vs:  # Python's own view, as a check of this script
        assert python_verify(v["hash"], v["password"]), v
    return {
        "generator": "testdata/vectors/gen_vectors.py",
        "python": sys.version.split()[0],
        "passlib": passlib.__version__,
        "argon2_cffi": argon2.__version__,
        "bcrypt": pyca_bcrypt.__version__,
        "passlib_argon2": passlib_argon2 is not None,
        "over_72_bytes": over72_behaviour(),
        "vectors": vs,
    }


def python_verify(hash_, password):
    if hash_.startswith("$argon2"):
        try:
            return argon2.PasswordHasher().verify(hash_, password)
        except argon2.exceptions.VerificationError:
            return False
    return passlib_bcrypt.verify(password, hash_)


def verify_stdin():
    out = []
    for item in json.load(sys.stdin):
        if item["scheme"] == "argon2":
            try:
                out.append(argon2.PasswordHasher().verify(item["hash"], item["password"]))
            except argon2.exceptions.VerificationError:
                out.append(False)
        else:
            out.append(bool(passlib_bcrypt.verify(item["password"], item["hash"])))
    json.dump(out, sys.stdout)


def main():
    if sys.argv[1:] == ["verify"]:
        verify_stdin()
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_hashes.json")
    data = generate()
    with open(out, "w", encoding="utf-8") as f:
        # ensure_ascii keeps NFC and NFD visibly different in the file.
        json.dump(data, f, indent=1, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main()
