// Field encryption for personal identifiers. One master secret (CAREGRID_SECRET, or a random one generated into the
// data folder at first start) is expanded with HKDF into separate keys for encryption, lookup hashing and sessions,
// so a leaked lookup hash or session key does not reveal the encryption key.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

// Keys are KeyObjects, imported once: handing raw bytes to createCipheriv/createHmac/jose imports the key on every
// call, which profiling showed to be most of the cost of encrypting a field.
export interface Keys {
  /** AES-256-GCM key for identity numbers and phones. */
  readonly enc: KeyObject;
  /** HMAC-SHA256 key for exact-match lookup hashes. */
  readonly lookup: KeyObject;
  /** HS256 key for session tokens. */
  readonly session: KeyObject;
  /** Key id stored with each ciphertext so keys can be rotated later. */
  readonly keyId: number;
  /** The raw key bytes, only to hand to worker threads (synthetic data generation). */
  readonly raw: { readonly enc: Uint8Array; readonly lookup: Uint8Array };
}

export function deriveKeys(secret: string): Keys {
  const ikm = Buffer.from(secret, 'utf8');
  const salt = Buffer.from('caregrid/v1');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info), 32));
  const enc = derive('field-encryption');
  const lookup = derive('lookup-hash');
  return Object.freeze({
    enc: createSecretKey(enc), lookup: createSecretKey(lookup), session: createSecretKey(derive('session')), keyId: 1,
    raw: Object.freeze({ enc: new Uint8Array(enc), lookup: new Uint8Array(lookup) }),
  });
}

/** Reads CAREGRID_SECRET, or the secret kept in the data folder, generating it (mode 0600) on first start. */
export function loadOrCreateSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

const IV_LEN = 12;
const TAG_LEN = 16;

/** keyId (1 byte) | iv (12) | tag (16) | ciphertext */
export function encryptField(keys: Keys, plaintext: string): Buffer {
  return encryptWithIv(keys.enc, keys.keyId, randomBytes(IV_LEN), plaintext);
}

/** The ciphertext layout, defined once; bulk generators pass IVs cut from one block of random bytes. */
export function encryptWithIv(key: KeyObject, keyId: number, iv: Uint8Array, plaintext: string): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([keyId]), iv, cipher.getAuthTag(), ct]);
}

export function decryptField(keys: Keys, blob: Uint8Array): string {
  const buf = Buffer.from(blob);
  if (buf[0] !== keys.keyId) throw new Error('unknown field-encryption key id');
  const iv = buf.subarray(1, 1 + IV_LEN);
  const tag = buf.subarray(1 + IV_LEN, 1 + IV_LEN + TAG_LEN);
  const decipher = createDecipheriv('aes-256-gcm', keys.enc, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(buf.subarray(1 + IV_LEN + TAG_LEN)), decipher.final()]).toString('utf8');
}

/** Keyed hash for exact lookup; the domain separates identity numbers from phones. */
export function lookupHash(keys: Keys, domain: 'id' | 'phone', value: string): Buffer {
  return lookupHashWith(keys.lookup, domain, value);
}

export function lookupHashWith(key: KeyObject, domain: 'id' | 'phone', value: string): Buffer {
  return createHmac('sha256', key).update(domain).update('\0').update(value).digest();
}
