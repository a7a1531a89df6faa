import { describe, expect, test } from 'vitest';
import { configFromEnv, loadConfig } from './config.ts';

describe('configuration', () => {
  test('defaults, environment variables, frozen', () => {
    const c = configFromEnv({ PORT: '9000', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x', CAREGRID_DATA_DIR: '/tmp/cg' });
    expect(c.port).toBe(9000);
    expect(c.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/x');
    expect(c.dataDir).toBe('/tmp/cg');
    expect(c.defaultLocale).toBe('zh-CN');
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.trustProxy).toBe(false);
    expect(configFromEnv({ CAREGRID_TRUST_PROXY: 'true', CAREGRID_SECURE_COOKIES: 'false' })).toMatchObject({ trustProxy: true, secureCookies: false });
  });
  test('unknown keys and bad values are refused with the field named', () => {
    expect(() => loadConfig({ prot: 1 })).toThrow(/prot/);
    expect(() => loadConfig({ port: 'eighty' })).toThrow(/port/);
    expect(() => configFromEnv({ CAREGRID_ADMIN_PASSWORD: 'short' })).toThrow(/adminPassword/);
  });
  test('several server processes only on PostgreSQL', () => {
    expect(configFromEnv({}).workers).toBe(1);
    expect(configFromEnv({ CAREGRID_WORKERS: '2', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' }).workers).toBe(2);
    expect(() => configFromEnv({ CAREGRID_WORKERS: '2' })).toThrow(/workers: more than one server process needs PostgreSQL/);
    expect(() => configFromEnv({ CAREGRID_WORKERS: '0', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' })).toThrow(/workers/);
  });
});
