// The generator's batched AES-256-GCM and HMAC-SHA256 must give exactly what the platform's node:crypto functions give.
import { describe, expect, test } from 'vitest';
import { createSecretKey, randomBytes } from 'node:crypto';
import { bulkCrypto } from './bulk-crypto.ts';
import { decryptField, deriveKeys, encryptWithIv, lookupHashWith } from '../platform/crypto.ts';

describe('bulk crypto for the generator', () => {
  test('byte for byte the platform’s ciphertext (same IV) and lookup hash, for every length and non-ASCII text', () => {
    const chars = '0123456789X东城区-abc';
    for (let round = 0; round < 5; round++) {
      const encRaw = randomBytes(32), lookupRaw = randomBytes(32);
      const enc = createSecretKey(encRaw), lookup = createSecretKey(lookupRaw);
      const n = 400;
      const ivs = randomBytes(12 * n);
      const bc = bulkCrypto(enc, lookup, lookupRaw, 1, ivs, n, 0); // no built-in checks: compare every value here
      for (let i = 0; i < n; i++) {
        let s = '';
        for (let j = 0; j < i % 45; j++) s += chars[(i * 7 + j * 13 + round) % chars.length]; // 0–44 chars, up to 3 bytes each
        expect(bc.encrypt(s).equals(encryptWithIv(enc, 1, ivs.subarray(12 * i, 12 * i + 12), s))).toBe(true);
        for (const domain of ['id', 'phone'] as const) expect(bc.hash(domain, s).equals(lookupHashWith(lookup, domain, s))).toBe(true);
      }
    }
  });

  test('the server decrypts what it encrypts; each encryption takes the next IV, and no more than given', () => {
    const keys = deriveKeys('k'.repeat(40));
    const ivs = randomBytes(12 * 3);
    const bc = bulkCrypto(keys.enc, keys.lookup, keys.raw.lookup, keys.keyId, ivs, 3);
    const a = bc.encrypt('110101198001011234');
    const b = bc.encrypt('13912345678');
    expect(decryptField(keys, a)).toBe('110101198001011234');
    expect(decryptField(keys, b)).toBe('13912345678');
    expect(a.subarray(1, 13).equals(ivs.subarray(0, 12))).toBe(true);
    expect(b.subarray(1, 13).equals(ivs.subarray(12, 24))).toBe(true);
    bc.encrypt('');
    expect(() => bc.encrypt('x')).toThrow(/more encryptions than IVs/);
  });
});
