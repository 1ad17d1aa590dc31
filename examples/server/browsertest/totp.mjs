// TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) as an
// authenticator app computes it, with node's crypto: the browser tests
// compute their codes themselves, never asking the server for one.
import crypto from "node:crypto";
import assert from "node:assert/strict";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// base32Decode decodes RFC 4648 base32, case-insensitive, padding optional.
export function base32Decode(text) {
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toUpperCase().replace(/=+$/, "")) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) {
      throw new Error(`not base32: ${JSON.stringify(text)}`);
    }
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

// hotp is RFC 4226's HOTP of key (bytes) at counter.
export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = crypto.createHmac("sha1", key).update(msg).digest();
  const off = h[h.length - 1] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}

// totp is the code for secret (base32) at unixSeconds.
export function totp(secret, unixSeconds, digits = 6) {
  return hotp(base32Decode(secret), Math.floor(unixSeconds / 30), digits);
}

// RFC 6238, appendix B (SHA-1, 8 digits), and the same codes' last 6
// digits: a wrong implementation fails here rather than at the server.
const rfcSecret = base32Decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
assert.equal(rfcSecret.toString(), "12345678901234567890");
for (const [t, code] of [[59, "94287082"], [1111111109, "07081804"], [1111111111, "14050471"],
  [1234567890, "89005924"], [2000000000, "69279037"], [20000000000, "65353130"]]) {
  assert.equal(hotp(rfcSecret, Math.floor(t / 30), 8), code, `RFC 6238 at T=${t}`);
  assert.equal(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", t), code.slice(2), `RFC 6238 at T=${t}, 6 digits`);
}
