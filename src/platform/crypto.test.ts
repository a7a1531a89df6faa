import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptField, deriveKeys, encryptField, loadOrCreateSecret, lookupHash } from './crypto.ts';

describe('field encryption', () => {
  const keys = deriveKeys('a'.repeat(40));
  test('round-trips, with a fresh IV each time', () => {
    const a = encryptField(keys, '110101199003074514');
    const b = encryptField(keys, '110101199003074514');
    expect(a.equals(b)).toBe(false);
    expect(a.toString('latin1')).not.toContain('110101199003074514');
    expect(decryptField(keys, a)).toBe('110101199003074514');
  });
  test('tampering is detected', () => {
    const a = encryptField(keys, '13800001111');
    a[a.length - 1] ^= 1;
    expect(() => decryptField(keys, a)).toThrow();
  });
  test('another secret cannot decrypt, and lookup hashes differ per secret and domain', () => {
    const other = deriveKeys('b'.repeat(40));
    expect(() => decryptField(other, encryptField(keys, 'x'))).toThrow();
    expect(lookupHash(keys, 'id', '1').equals(lookupHash(other, 'id', '1'))).toBe(false);
    expect(lookupHash(keys, 'id', '1').equals(lookupHash(keys, 'phone', '1'))).toBe(false);
    expect(lookupHash(keys, 'id', '1').equals(lookupHash(keys, 'id', '1'))).toBe(true);
  });
  test('a generated secret is kept in the data folder, readable by the owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-secret-'));
    const s = loadOrCreateSecret(undefined, dir);
    expect(s.length).toBeGreaterThanOrEqual(48);
    expect(loadOrCreateSecret(undefined, dir)).toBe(s);
    expect(readFileSync(join(dir, 'secret.key'), 'utf8').trim()).toBe(s);
    expect(statSync(join(dir, 'secret.key')).mode & 0o077).toBe(0);
    expect(loadOrCreateSecret('configured-secret', dir)).toBe('configured-secret');
    rmSync(dir, { recursive: true, force: true });
  });
});
