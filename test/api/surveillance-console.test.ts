// What the surveillance console reads besides the surveillance data itself: the communities' centroids for its map
// (on the regions API) and the staff an alert may be assigned to.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
const get = async (url: string, user: string) => s.app.inject({ url, headers: { cookie: await s.login(user) } });

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s?.close());

describe('community centroids', () => {
  test('every community has a centroid inside the district; grids have none', async () => {
    const communities = (await get('/api/v1/regions?level=community', 'cdc1')).json().items;
    expect(communities.length).toBeGreaterThan(0);
    for (const c of communities) {
      expect(c.lon).toBeGreaterThan(116.3);
      expect(c.lon).toBeLessThan(116.5);
      expect(c.lat).toBeGreaterThan(39.8);
      expect(c.lat).toBeLessThan(40.0);
    }
    const grids = (await get(`/api/v1/regions?parentId=${communities[0].id}`, 'cdc1')).json().items;
    expect(grids[0]).toMatchObject({ level: 'grid', lon: null, lat: null });
    expect((await get(`/api/v1/regions/${communities[0].id}`, 'doctor1')).json()).toMatchObject({ lon: communities[0].lon, lat: communities[0].lat });
  });
});

describe('alert assignees', () => {
  test('the CDC, investigators and the district admin see the active CDC epidemiologists and investigators', async () => {
    for (const user of ['cdc1', 'investigator1', 'admin']) {
      const res = await get('/api/v1/surveillance/assignees', user);
      expect(res.statusCode).toBe(200);
      const items = res.json().items as Array<{ displayName: string; roles: string[] }>;
      expect(items.map((u) => u.displayName).sort()).toEqual(['流调队员1', '疾控流调员1']);
      expect(items.find((u) => u.displayName === '流调队员1')).toMatchObject({ roles: ['investigator'], institutionName: expect.any(String) });
    }
  });

  test('others may not list them', async () => {
    const res = await get('/api/v1/surveillance/assignees', 'doctor1');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
  });
});
