// What the surveillance API tests need from the seeded test district: institutions by type, communities and
// streets, and accounts of a pharmacy and a school (the demo users have none), created through the users API.
import { expect } from 'vitest';
import type { TestServer } from './server.ts';

export interface Inst {
  id: number;
  code: string;
  type: string;
  regionId: number;
}
export interface Reg {
  id: number;
  code: string;
  name: string;
  level: string;
  parentId: number | null;
}

export interface District {
  admin: string;
  byType(type: string): Inst[];
  communities: Reg[];
  streets: Reg[];
  /** Logs in a new institution_admin of the institution (created once per username). */
  accountOf(inst: Inst, username: string): Promise<string>;
}

export async function districtOf(s: TestServer): Promise<District> {
  const admin = await s.login('admin');
  const get = async (url: string) => {
    const r = await s.app.inject({ method: 'GET', url, headers: { cookie: admin } });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const institutions: Inst[] = (await get('/api/v1/institutions?pageSize=200')).items;
  const communities: Reg[] = (await get('/api/v1/regions?level=community')).items;
  const streets: Reg[] = (await get('/api/v1/regions?level=street')).items;
  const made = new Map<string, string>();
  return {
    admin,
    byType: (type) => institutions.filter((i) => i.type === type),
    communities,
    streets,
    async accountOf(inst, username) {
      if (made.has(username)) return made.get(username)!;
      const r = await s.app.inject({
        method: 'POST', url: '/api/v1/users', headers: { cookie: admin },
        payload: { username, displayName: username, password: s.demoPassword, roles: ['institution_admin'], institutionId: inst.id },
      });
      if (r.statusCode !== 201) throw new Error(`create ${username}: ${r.statusCode} ${r.body}`);
      const cookie = await s.login(username);
      made.set(username, cookie);
      return cookie;
    },
  };
}

/** A Beijing calendar day `n` days before today. */
export function daysAgo(n: number): string {
  return new Date(Date.now() + 8 * 3600_000 - n * 86_400_000).toISOString().slice(0, 10);
}

/** The JSON body of an injected request, after checking its status (the body is the assertion's message). */
export async function ok(res: Promise<{ statusCode: number; body: string; json: () => any }>, status = 200): Promise<Record<string, any>> {
  const r = await res;
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}
