// Bulk field encryption and lookup hashing for the generator, with the same output as src/platform/crypto.ts
// (encryptWithIv, lookupHashWith) at a fraction of the cost for short values.
//
// Why: a resident needs two AES-256-GCM encryptions and two HMAC-SHA256 hashes of ~11–18-byte values. Through
// node:crypto each one is an object and 4–5 native calls (~3 µs per encryption, ~2 µs per hash on the 2-core
// benchmark machine), most of it call overhead, not cryptography: 12 of the generator's 16.5 µs per resident.
// Here a whole chunk's AES work is one native call, and only the cheap parts run in JavaScript:
// - AES-256-GCM (NIST SP 800-38D) = CTR-mode AES + GHASH. The AES blocks (the counter blocks of every value's IV and
//   H = E(K, 0¹²⁸)) are encrypted in one AES-256-ECB call per chunk; the XOR with the plaintext and GHASH (a
//   multiplication in GF(2¹²⁸) per 16-byte block, Shoup's 4-bit tables) run here.
// - HMAC-SHA256 (RFC 2104) = two SHA-256 passes; the states after the key blocks (ipad, opad) are computed once,
//   so a short value costs two SHA-256 compressions in JavaScript.
// The result is checked against node:crypto (the platform's own functions) for the first values of every chunk, so a
// mistake here cannot produce data the server cannot read. Only for synthetic data: the server keeps node:crypto.
import { createCipheriv, type KeyObject } from 'node:crypto';
import { encryptWithIv, lookupHashWith } from '../platform/crypto.ts';

const IV_LEN = 12;
const TAG_LEN = 16;
/** Longest plaintext the batched path handles (two AES blocks); longer ones go through node:crypto. */
const MAX_PLAIN = 32;
const BLOCKS_PER_VALUE = 1 + MAX_PLAIN / 16; // J0 (tag mask) and the counter blocks for the plaintext

// ── GHASH: multiplication by H in GF(2^128), 4-bit tables (as in mbed TLS gcm.c), 128-bit values as four uint32 ──
const LAST4 = [0x0000, 0x1c20, 0x3840, 0x2460, 0x7080, 0x6ca0, 0x48c0, 0x54e0, 0xe100, 0xfd20, 0xd940, 0xc560, 0x9180, 0x8da0, 0xa9c0, 0xb5e0];

/** Tables for multiplying by H: M[i] = i·H for the 16 nibble values, as 16 × 4 words (big-endian word order). */
function ghashTable(h: Uint8Array): Uint32Array {
  const t = new Uint32Array(64);
  let v0 = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
  let v1 = ((h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7]) >>> 0;
  let v2 = ((h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11]) >>> 0;
  let v3 = ((h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15]) >>> 0;
  t.set([v0, v1, v2, v3], 8 * 4);
  for (let i = 4; i > 0; i >>= 1) {
    // v = v · x (a right shift in GCM's bit order), reduced by x^128 + x^7 + x^2 + x + 1
    const carry = v3 & 1;
    v3 = ((v3 >>> 1) | (v2 << 31)) >>> 0;
    v2 = ((v2 >>> 1) | (v1 << 31)) >>> 0;
    v1 = ((v1 >>> 1) | (v0 << 31)) >>> 0;
    v0 = ((v0 >>> 1) ^ (carry ? 0xe1000000 : 0)) >>> 0;
    t.set([v0, v1, v2, v3], i * 4);
  }
  for (let i = 2; i <= 8; i *= 2) {
    for (let j = 1; j < i; j++) {
      for (let w = 0; w < 4; w++) t[(i + j) * 4 + w] = (t[i * 4 + w] ^ t[j * 4 + w]) >>> 0;
    }
  }
  return t;
}

/** y = (y ⊕ block) · H, where block is 16 bytes of `src` at `at` (zero-padded past `end`); y is 4 words, in place. */
function ghashBlock(t: Uint32Array, y: Uint32Array, src: Uint8Array, at: number, end: number) {
  const x = ghashScratch;
  for (let i = 0; i < 16; i++) x[i] = at + i < end ? src[at + i] : 0;
  x[0] ^= y[0] >>> 24; x[1] ^= (y[0] >>> 16) & 0xff; x[2] ^= (y[0] >>> 8) & 0xff; x[3] ^= y[0] & 0xff;
  x[4] ^= y[1] >>> 24; x[5] ^= (y[1] >>> 16) & 0xff; x[6] ^= (y[1] >>> 8) & 0xff; x[7] ^= y[1] & 0xff;
  x[8] ^= y[2] >>> 24; x[9] ^= (y[2] >>> 16) & 0xff; x[10] ^= (y[2] >>> 8) & 0xff; x[11] ^= y[2] & 0xff;
  x[12] ^= y[3] >>> 24; x[13] ^= (y[3] >>> 16) & 0xff; x[14] ^= (y[3] >>> 8) & 0xff; x[15] ^= y[3] & 0xff;
  mulH(t, x, y);
}

/** y = x · H for a 16-byte x (GCM bit order). */
function mulH(t: Uint32Array, x: Uint8Array, y: Uint32Array) {
  let n = (x[15] & 0xf) * 4;
  let z0 = t[n], z1 = t[n + 1], z2 = t[n + 2], z3 = t[n + 3];
  for (let i = 15; i >= 0; i--) {
    const lo = x[i] & 0xf;
    const hi = x[i] >>> 4;
    let rem: number;
    if (i !== 15) {
      rem = z3 & 0xf;
      z3 = (z3 >>> 4) | (z2 << 28);
      z2 = (z2 >>> 4) | (z1 << 28);
      z1 = (z1 >>> 4) | (z0 << 28);
      z0 = (z0 >>> 4) ^ (LAST4[rem] << 16);
      n = lo * 4;
      z0 ^= t[n]; z1 ^= t[n + 1]; z2 ^= t[n + 2]; z3 ^= t[n + 3];
    }
    rem = z3 & 0xf;
    z3 = (z3 >>> 4) | (z2 << 28);
    z2 = (z2 >>> 4) | (z1 << 28);
    z1 = (z1 >>> 4) | (z0 << 28);
    z0 = (z0 >>> 4) ^ (LAST4[rem] << 16);
    n = hi * 4;
    z0 ^= t[n]; z1 ^= t[n + 1]; z2 ^= t[n + 2]; z3 ^= t[n + 3];
  }
  y[0] = z0; y[1] = z1; y[2] = z2; y[3] = z3;
}
const ghashScratch = new Uint8Array(16);

// ── SHA-256 compression (FIPS 180-4) ──
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const SHA256_IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Int32Array(64);

/** One SHA-256 compression of the 16 words in W[0..15] into `state` (8 words), in place. */
function compress(state: Int32Array) {
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15], b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0;
    d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0; state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0; state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
}

/** The SHA-256 state after one 64-byte block. */
function stateAfterBlock(block: Uint8Array): Int32Array {
  const s = new Int32Array(SHA256_IV);
  for (let i = 0; i < 16; i++) W[i] = (block[4 * i] << 24) | (block[4 * i + 1] << 16) | (block[4 * i + 2] << 8) | block[4 * i + 3];
  compress(s);
  return s;
}

export interface BulkCrypto {
  /** AES-256-GCM under a fresh IV from the chunk's IV block, in the layout of encryptWithIv (keyId | iv | tag | ct). */
  encrypt(plain: string): Buffer;
  /** lookupHashWith(lookup, domain, value). */
  hash(domain: 'id' | 'phone', value: string): Buffer;
}

/**
 * Encryption and hashing for one chunk of `values` encryptions. `ivs` holds 12 random bytes per encryption; each call
 * to encrypt takes the next IV, as the per-value node:crypto path did.
 */
export function bulkCrypto(enc: KeyObject, lookup: KeyObject, lookupRaw: Uint8Array, keyId: number, ivs: Uint8Array, values: number, checks = 2): BulkCrypto {
  // All AES blocks of the chunk in one call: a zero block (H), then per value J0 = IV‖1, IV‖2, IV‖3.
  const counters = Buffer.alloc(16 * (1 + values * BLOCKS_PER_VALUE));
  for (let v = 0; v < values; v++) {
    for (let b = 0; b < BLOCKS_PER_VALUE; b++) {
      const at = 16 * (1 + v * BLOCKS_PER_VALUE + b);
      counters.set(ivs.subarray(v * IV_LEN, v * IV_LEN + IV_LEN), at);
      counters[at + 15] = b + 1;
    }
  }
  const ecb = createCipheriv('aes-256-ecb', enc, null).setAutoPadding(false);
  const stream = Buffer.concat([ecb.update(counters), ecb.final()]);
  const table = ghashTable(stream.subarray(0, 16));
  const y = new Uint32Array(4);
  const lenBlock = new Uint8Array(16);
  const scratch = Buffer.alloc(MAX_PLAIN * 3);

  // HMAC: SHA-256 states after the key blocks; a short message then needs one compression for the inner hash and one
  // for the outer.
  if (lookupRaw.length > 64) throw new Error('bulkCrypto: lookup key longer than one block');
  const pad = (x: number) => {
    const b = new Uint8Array(64).fill(x);
    for (let i = 0; i < lookupRaw.length; i++) b[i] ^= lookupRaw[i];
    return b;
  };
  const inner0 = stateAfterBlock(pad(0x36));
  const outer0 = stateAfterBlock(pad(0x5c));
  const st = new Int32Array(8);
  const msg = Buffer.alloc(64);

  let next = 0;
  let checked = 0;
  const encrypt = (plain: string): Buffer => {
    const v = next++;
    const iv = ivs.subarray(v * IV_LEN, v * IV_LEN + IV_LEN);
    if (v >= values) throw new Error('bulkCrypto: more encryptions than IVs');
    const pt = scratch;
    const n = pt.write(plain, 0, 'utf8');
    if (n > MAX_PLAIN) return encryptWithIv(enc, keyId, iv, plain); // (a longer value is cut at the scratch size, still > MAX_PLAIN)
    const out = Buffer.allocUnsafe(1 + IV_LEN + TAG_LEN + n);
    out[0] = keyId;
    out.set(iv, 1);
    const ct = 1 + IV_LEN + TAG_LEN;
    const ks = 16 * (1 + v * BLOCKS_PER_VALUE + 1); // the first counter block after J0
    for (let i = 0; i < n; i++) out[ct + i] = pt[i] ^ stream[ks + i];
    // GHASH over the ciphertext (no associated data), then the lengths block: 0 ‖ bitlen(C), both 64-bit
    y[0] = 0; y[1] = 0; y[2] = 0; y[3] = 0;
    for (let at = 0; at < n; at += 16) ghashBlock(table, y, out, ct + at, ct + n);
    const bits = n * 8;
    lenBlock[12] = bits >>> 24; lenBlock[13] = (bits >>> 16) & 0xff; lenBlock[14] = (bits >>> 8) & 0xff; lenBlock[15] = bits & 0xff;
    ghashBlock(table, y, lenBlock, 0, 16);
    const j0 = 16 * (1 + v * BLOCKS_PER_VALUE);
    for (let w = 0; w < 4; w++) {
      const at = 1 + IV_LEN + 4 * w;
      const yw = y[w];
      out[at] = (yw >>> 24) ^ stream[j0 + 4 * w];
      out[at + 1] = ((yw >>> 16) & 0xff) ^ stream[j0 + 4 * w + 1];
      out[at + 2] = ((yw >>> 8) & 0xff) ^ stream[j0 + 4 * w + 2];
      out[at + 3] = (yw & 0xff) ^ stream[j0 + 4 * w + 3];
    }
    if (checked < checks) {
      checked++;
      if (!out.equals(encryptWithIv(enc, keyId, iv, plain))) throw new Error('bulkCrypto: encryption differs from node:crypto');
    }
    return out;
  };

  let hashesChecked = 0;
  const hash = (domain: 'id' | 'phone', value: string): Buffer => {
    // message = domain ‖ 0x00 ‖ value (as lookupHashWith feeds it), one block after the ipad block when short enough
    const m = msg;
    let n = m.write(domain, 0, 'utf8');
    m[n++] = 0;
    const vl = Buffer.byteLength(value);
    if (n + vl > 55) return lookupHashWith(lookup, domain, value);
    n += m.write(value, n, 'utf8');
    m[n] = 0x80;
    m.fill(0, n + 1, 62);
    const bits = (64 + n) * 8;
    m[62] = bits >>> 8;
    m[63] = bits & 0xff;
    for (let i = 0; i < 16; i++) W[i] = (m[4 * i] << 24) | (m[4 * i + 1] << 16) | (m[4 * i + 2] << 8) | m[4 * i + 3];
    st.set(inner0);
    compress(st);
    // outer: opad state, then the 32-byte inner digest + padding (message length 64 + 32 bytes)
    for (let i = 0; i < 8; i++) W[i] = st[i];
    W[8] = 0x80000000;
    for (let i = 9; i < 15; i++) W[i] = 0;
    W[15] = (64 + 32) * 8;
    st.set(outer0);
    compress(st);
    const out = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) out.writeInt32BE(st[i], 4 * i);
    if (hashesChecked < checks) {
      hashesChecked++;
      if (!out.equals(lookupHashWith(lookup, domain, value))) throw new Error('bulkCrypto: lookup hash differs from node:crypto');
    }
    return out;
  };
  return { encrypt, hash };
}
