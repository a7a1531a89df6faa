// The seeded district's injected outbreak (src/synth/surveillance.ts: norovirus in three adjacent communities, onsets
// over the six days up to yesterday) is what the daily run exists to find: the CDC runs detection for yesterday, as
// the daily job does, and finds a multi-source gastrointestinal alert over those communities in its inbox, with
// evidence from at least two independent sources there.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ok } from '../helpers/surveillance.ts';

type Json = Record<string, any>;
let s: TestServer;
let cdc: string;

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  cdc = await s.login('cdc1');
});
afterAll(async () => s?.close());

test('the run of yesterday raises a multi_source gastrointestinal alert over the outbreak’s communities', async () => {
  const outbreak = s.started.seeded!.surveillance!.outbreak;
  expect(outbreak).toMatchObject({ syndrome: 'gastrointestinal', communityIds: expect.any(Array) });
  const yesterday = s.started.seeded!.surveillance!.to;
  expect(outbreak.end).toBe(yesterday);

  // before the run the inbox holds nothing of the outbreak
  const before = await ok(s.app.inject({ url: '/api/v1/surveillance/alerts?pageSize=100', headers: { cookie: cdc } }));
  expect(before.items).toEqual([]);

  const run = await ok(s.app.inject({ method: 'POST', url: '/api/v1/surveillance/runs', headers: { cookie: cdc }, payload: { asOf: yesterday } }));
  expect(run).toMatchObject({ status: 'succeeded', asOf: yesterday, error: null });
  expect(run.alertCount).toBeGreaterThan(0);

  const list = await ok(s.app.inject({ url: '/api/v1/surveillance/alerts?ruleCode=multi_source&syndrome=gastrointestinal&pageSize=100', headers: { cookie: cdc } }));
  const inOutbreak = (ids: number[]) => ids.filter((id) => outbreak.communityIds.includes(id));
  const alert = list.items.find((a: Json) => inOutbreak(a.communities.map((c: Json) => c.id)).length > 0);
  expect(alert, JSON.stringify(list.items)).toBeDefined();
  expect(alert).toMatchObject({ state: 'new', riskLevel: 'high', syndrome: 'gastrointestinal', rule: { code: 'multi_source', kind: 'multi_source' }, lastDate: yesterday });
  expect(inOutbreak(alert.communities.map((c: Json) => c.id)).length).toBeGreaterThanOrEqual(2);

  // its evidence: signals of the outbreak's days in the outbreak's communities, from two or more independent sources
  const detail = await ok(s.app.inject({ url: `/api/v1/surveillance/alerts/${alert.id}`, headers: { cookie: cdc } }));
  const evidence = detail.signals.filter((g: Json) => inOutbreak(g.communityIds).length > 0 && g.date >= outbreak.start && g.date <= yesterday);
  expect(new Set(evidence.map((g: Json) => g.source.code)).size).toBeGreaterThanOrEqual(2);
  for (const g of evidence) {
    expect(g.syndrome).toBe('gastrointestinal');
    expect(g.observed).toBeGreaterThan(g.threshold ?? -Infinity);
  }
});
