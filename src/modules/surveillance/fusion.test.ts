// Fusion rules (多点触发): each kind, independence, adjacency, windows, absorption and the extension of open alerts.
import { describe, expect, test } from 'vitest';
import { ZodError } from 'zod';
import { addDays } from '../../platform/local-date.ts';
import {
  adjacencyOf, chiSquareUpperEven, combinedEvidence, EXTEND_WITHIN_DAYS, extendedArea, fuse, highSignalIds, matchOpenAlert, parseParams, pnormUpper, signalPValue,
  type FusionInput, type FusionRule, type FusionSignal,
} from './fusion.ts';

const AS_OF = '2025-03-10';
const MULTI: FusionRule = { id: 1, code: 'multi_source', version: 1, kind: 'multi_source', params: { minSources: 2, windowDays: 3, adjacency: 'adjacent' }, riskLevel: 'high' };
const HIGH: FusionRule = { id: 2, code: 'high_threshold', version: 1, kind: 'high_threshold', params: { factor: 3, minObserved: 10, maxP: 0.001 }, riskLevel: 'medium' };
const CLASS_A: FusionRule = { id: 3, code: 'class_a_report', version: 1, kind: 'case_report_class', params: { classes: ['A'], managedAsA: true }, riskLevel: 'critical' };

// communities 101–102–103 in a row (101 borders 102, 102 borders 103); 104 borders nobody
const ADJ = adjacencyOf([[101, 102], [102, 103]]);
const INDEPENDENCE = { fever_clinic: 'clinical', sentinel: 'primary_care', pharmacy: 'pharmacy', laboratory: 'laboratory', wastewater: 'environment', clinic_b: 'clinical' };

let nextId = 1;
function sig(over: Partial<FusionSignal>): FusionSignal {
  return { id: nextId++, algorithm: 'earsC1', source: 'fever_clinic', category: 'visits', syndrome: 'fever', community: 101, date: AS_OF, observed: 12, threshold: 8, pValue: null, ...over };
}
function input(signals: FusionSignal[], over: Partial<FusionInput> = {}): FusionInput {
  return { asOf: AS_OF, signals, rules: [MULTI], adjacency: ADJ, independence: INDEPENDENCE, ...over };
}

describe('multi_source: independent sources in the same or adjacent communities within the window', () => {
  test('two independent sources in one community make one candidate with both signals', () => {
    const a = sig({ source: 'fever_clinic' });
    const b = sig({ source: 'pharmacy', category: 'antipyretic', date: addDays(AS_OF, -1) });
    expect(fuse(input([a, b]))).toEqual([{
      ruleId: 1, ruleCode: 'multi_source', ruleVersion: 1, kind: 'multi_source', riskLevel: 'high', syndrome: 'fever', communities: [101],
      firstDate: '2025-03-09', lastDate: AS_OF, sources: ['fever_clinic', 'pharmacy'], groups: ['clinical', 'pharmacy'],
      signalIds: [a.id, b.id].sort((x, y) => x - y), caseReportIds: [], dedupeKey: 'multi_source:fever:101',
    }]);
  });

  test('several algorithms on one series count once', () => {
    const series = ['earsC1', 'earsC2', 'earsC3', 'cusum'].map((algorithm) => sig({ algorithm }));
    expect(fuse(input(series))).toEqual([]);
  });

  test('two categories of one source, and two sources of one independence group, count once', () => {
    expect(fuse(input([sig({ source: 'sentinel', category: 'fever' }), sig({ source: 'sentinel', category: 'myalgia' })]))).toEqual([]);
    expect(fuse(input([sig({ source: 'fever_clinic' }), sig({ source: 'clinic_b' })]))).toEqual([]);
    // a third, independent source makes it
    expect(fuse(input([sig({ source: 'fever_clinic' }), sig({ source: 'clinic_b' }), sig({ source: 'laboratory', category: 'influenza' })]))[0].groups).toEqual(['clinical', 'laboratory']);
  });

  test('different syndromes do not agree', () => {
    expect(fuse(input([sig({ syndrome: 'fever' }), sig({ source: 'pharmacy', syndrome: 'respiratory', category: 'cough' })]))).toEqual([]);
  });

  test('adjacent communities agree; communities two apart or without a border do not', () => {
    const adjacent = fuse(input([sig({ community: 101 }), sig({ source: 'pharmacy', community: 102 })]));
    expect(adjacent.map((c) => c.communities)).toEqual([[101, 102]]);
    expect(fuse(input([sig({ community: 101 }), sig({ source: 'pharmacy', community: 103 })]))).toEqual([]);
    expect(fuse(input([sig({ community: 101 }), sig({ source: 'pharmacy', community: 104 })]))).toEqual([]);
  });

  test('with adjacency "same" only the same community counts', () => {
    const same: FusionRule = { ...MULTI, params: { minSources: 2, windowDays: 3, adjacency: 'same' } };
    expect(fuse(input([sig({ community: 101 }), sig({ source: 'pharmacy', community: 102 })], { rules: [same] }))).toEqual([]);
    expect(fuse(input([sig({ community: 102 }), sig({ source: 'pharmacy', community: 102 })], { rules: [same] }))).toHaveLength(1);
  });

  test('a scan cluster touches every community of the cluster (the candidate keeps the part within its area)', () => {
    const cluster = sig({ algorithm: 'stscan', source: 'sentinel', category: 'fever', community: 103, communities: [103, 102], threshold: null, pValue: 0.02 });
    const c = fuse(input([cluster, sig({ source: 'pharmacy', community: 101 })]));
    expect(c.map((x) => [x.communities, x.groups])).toEqual([[[101, 102], ['pharmacy', 'primary_care']]]);
  });

  test('the window: signals up to windowDays − 1 days before asOf count, older ones do not', () => {
    const fresh = sig({});
    expect(fuse(input([fresh, sig({ source: 'pharmacy', date: addDays(AS_OF, -2) })]))).toHaveLength(1);
    expect(fuse(input([fresh, sig({ source: 'pharmacy', date: addDays(AS_OF, -3) })]))).toEqual([]);
    const wide: FusionRule = { ...MULTI, params: { minSources: 2, windowDays: 7, adjacency: 'adjacent' } };
    expect(fuse(input([fresh, sig({ source: 'pharmacy', date: addDays(AS_OF, -6) })], { rules: [wide] }))).toHaveLength(1);
    // a signal after asOf is not in the window either
    expect(fuse(input([fresh, sig({ source: 'pharmacy', date: addDays(AS_OF, 1) })]))).toEqual([]);
  });

  test('old evidence alone makes no candidate: at least one signal must be fresh', () => {
    const old = [sig({ date: addDays(AS_OF, -1) }), sig({ source: 'pharmacy', date: addDays(AS_OF, -1) })];
    expect(fuse(input(old))).toEqual([]);
    expect(fuse(input([{ ...old[0], fresh: true }, old[1]]))).toHaveLength(1);
    expect(fuse(input([sig({ fresh: false }), sig({ source: 'pharmacy', fresh: false })]))).toEqual([]);
  });

  test('minSources 3 needs three groups', () => {
    const three: FusionRule = { ...MULTI, params: { minSources: 3, windowDays: 3, adjacency: 'adjacent' } };
    const two = [sig({}), sig({ source: 'pharmacy' })];
    expect(fuse(input(two, { rules: [three] }))).toEqual([]);
    expect(fuse(input([...two, sig({ source: 'wastewater', community: 102 })], { rules: [three] }))[0].sources).toEqual(['fever_clinic', 'pharmacy', 'wastewater']);
  });

  test('one outbreak across neighbouring communities is one candidate; separate areas are separate', () => {
    const c = fuse(input([
      sig({ community: 101 }), sig({ source: 'pharmacy', community: 102 }), sig({ source: 'laboratory', community: 103 }),
      sig({ community: 104 }), sig({ source: 'wastewater', community: 104 }),
    ]));
    expect(c.map((x) => [x.dedupeKey, x.communities, x.signalIds.length])).toEqual([
      ['multi_source:fever:101', [101, 102, 103], 3],
      ['multi_source:fever:104', [104], 2],
    ]);
  });

  test('minObserved: signals of fewer cases are no evidence; strongFactor: one signal must be that far beyond its threshold (or a scan cluster)', () => {
    const rule = (p: object): FusionRule => ({ ...MULTI, params: { minSources: 2, windowDays: 3, adjacency: 'adjacent', ...p } });
    const two = [sig({ observed: 5, threshold: 2.5 }), sig({ source: 'pharmacy', community: 102, observed: 4, threshold: 3 })];
    expect(fuse(input(two, { rules: [rule({ minObserved: 4, strongFactor: 2 })] }))).toHaveLength(1);
    // the pharmacy's 4 cases fall below minObserved 5
    expect(fuse(input(two, { rules: [rule({ minObserved: 5 })] }))).toEqual([]);
    // 5 = 2 × 2.5 is strong at factor 2 (the boundary), not at 2.5
    expect(fuse(input(two, { rules: [rule({ strongFactor: 2.5 })] }))).toEqual([]);
    const cluster = sig({ algorithm: 'stscan', source: 'laboratory', community: 102, observed: 6, threshold: null, pValue: 0.01 });
    expect(fuse(input([sig({ observed: 6, threshold: 5 }), cluster], { rules: [rule({ strongFactor: 3 })] }))).toHaveLength(1);
  });

  test('candidates do not chain: a long row of signalling communities splits into neighbourhoods around the strongest', () => {
    // 201–202–…–209 in a row, every community with a clinic and a pharmacy signal; 205 also has a laboratory one
    const row = adjacencyOf([201, 202, 203, 204, 205, 206, 207, 208].map((x) => [x, x + 1] as const));
    const signals = [201, 202, 203, 204, 205, 206, 207, 208, 209].flatMap((community) => [sig({ community }), sig({ source: 'pharmacy', community })]);
    signals.push(sig({ source: 'laboratory', community: 205 }));
    const c = fuse(input(signals, { adjacency: row }));
    // 204–206 see three groups and 205 holds the most itself: its neighbourhood goes first; then 202's (ties by id), what
    // is left of 207's, and 209 alone — each community in one candidate
    expect(c.map((x) => x.communities)).toEqual([[204, 205, 206], [201, 202, 203], [207, 208], [209]]);
    expect(Math.max(...c.map((x) => x.communities.length))).toBeLessThanOrEqual(3);
    // every signal is evidence of some candidate
    expect(new Set(c.flatMap((x) => x.signalIds)).size).toBe(signals.length);
  });

  test('a scan cluster reaching beyond the neighbourhood adds only its part within it', () => {
    const c = fuse(input([sig({ algorithm: 'stscan', source: 'laboratory', community: 101, communities: [101, 102, 103, 104] }), sig({ community: 101 })], { adjacency: adjacencyOf([[101, 102]]) }));
    expect(c.map((x) => x.communities)).toEqual([[101, 102]]);
  });
});

describe('multi_source with combined evidence (maxCombinedP, minDays): Fisher\'s combination of the independent sources, and persistence', () => {
  // reference values from R: pnorm(z, lower.tail = FALSE), pchisq(x, df, lower.tail = FALSE)
  test('the normal upper tail, to the 1.2e-7 relative accuracy of erfc', () => {
    for (const [z, p] of [[0, 0.5], [-1, 0.8413447460685429], [3, 0.0013498980316300933], [4, 3.167124183311986e-5], [6, 9.865876450376946e-10]]) {
      expect(Math.abs(pnormUpper(z) - p) / p).toBeLessThan(1.2e-7);
    }
  });

  test('χ² upper tail with even degrees of freedom: e^(−x/2) Σ (x/2)^i / i!', () => {
    expect(chiSquareUpperEven(10, 1)).toBeCloseTo(Math.exp(-5), 15);
    expect(chiSquareUpperEven(10, 2)).toBeCloseTo(6 * Math.exp(-5), 15); // pchisq(10, 4) = 0.0404276819945128
    expect(chiSquareUpperEven(27.030963000984976, 3)).toBeCloseTo(0.00014288616884268915, 12);
    expect(chiSquareUpperEven(0, 2)).toBe(1);
  });

  test('a signal\'s p-value: its own (a scan), the normal tail of an EARS C1/C2 score, none for other algorithms', () => {
    expect(signalPValue({ algorithm: 'stscan', pValue: 0.004, statistic: 12.5 })).toBe(0.004);
    expect(signalPValue({ algorithm: 'earsC2', pValue: null, statistic: 3 })).toBeCloseTo(0.0013498980316300933, 9);
    expect(signalPValue({ algorithm: 'earsC3', pValue: null, statistic: 3 })).toBeNull();
    expect(signalPValue({ algorithm: 'farringtonFlexible', pValue: null, statistic: 1.4 })).toBeNull();
    expect(signalPValue({ algorithm: 'earsC1', pValue: null, statistic: null })).toBeNull();
  });

  test('each group brings its smallest p-value; a group without one counts in the degrees of freedom only', () => {
    const clinic = sig({ algorithm: 'earsC2', statistic: 3 });
    const clinicWeaker = sig({ algorithm: 'earsC2', source: 'clinic_b', statistic: 2, date: addDays(AS_OF, -1) });
    const scan = sig({ algorithm: 'stscan', source: 'sentinel', pValue: 0.001, statistic: 9, threshold: null, date: addDays(AS_OF, -2) });
    const farrington = sig({ algorithm: 'farringtonFlexible', source: 'pharmacy', statistic: 1.6 });
    const e = combinedEvidence([clinicWeaker, farrington, scan, clinic], INDEPENDENCE);
    expect(e.groups).toEqual([
      { group: 'clinical', source: 'fever_clinic', signalId: clinic.id, algorithm: 'earsC2', date: AS_OF, pValue: expect.closeTo(0.0013498980316300933, 9) },
      { group: 'pharmacy', source: 'pharmacy', signalId: farrington.id, algorithm: 'farringtonFlexible', date: AS_OF, pValue: null },
      { group: 'primary_care', source: 'sentinel', signalId: scan.id, algorithm: 'stscan', date: addDays(AS_OF, -2), pValue: 0.001 },
    ]);
    // −2 (ln 0.0013498980 + ln 0.001) = 27.030963; three groups: 6 degrees of freedom
    expect(e.statistic).toBeCloseTo(27.030963000984976, 5);
    expect(e.df).toBe(6);
    expect(e.pValue).toBeCloseTo(0.00014288616884268915, 9);
    expect(e.days).toBe(3);
  });

  const COMBINED: FusionRule = { ...MULTI, version: 3, params: { minSources: 2, windowDays: 7, adjacency: 'adjacent', maxCombinedP: 1e-6, minDays: 2 } };
  test('the combination must reach maxCombinedP, and the evidence must span minDays days', () => {
    const z = (statistic: number, over: Partial<FusionSignal> = {}) => sig({ algorithm: 'earsC2', statistic, ...over });
    // two sources at z = 4 (p = 3.167e-5 each): Fisher 41.44 on 4 df, p = 2.18e-8 ≤ 1e-6, on two days
    const strong = [z(4), z(4, { source: 'pharmacy', community: 102, date: addDays(AS_OF, -1) })];
    const [c] = fuse(input(strong, { rules: [COMBINED] }));
    expect(c).toMatchObject({ ruleVersion: 3, communities: [101, 102], groups: ['clinical', 'pharmacy'] });
    expect(c.evidence).toMatchObject({ df: 4, days: 2, statistic: expect.closeTo(41.44040594610917, 5), pValue: expect.closeTo(2.178683098263902e-8, 13) });
    expect(c.evidence!.groups.map((g) => [g.source, g.signalId])).toEqual([['fever_clinic', strong[0].id], ['pharmacy', strong[1].id]]);
    // the same evidence on one day is not persistent
    expect(fuse(input([z(4), z(4, { source: 'pharmacy', community: 102 })], { rules: [COMBINED] }))).toEqual([]);
    // two sources at z = 3.2 (p = 6.87e-4 each): Fisher p = 7.35e-6 > 1e-6
    expect(fuse(input([z(3.2), z(3.2, { source: 'pharmacy', date: addDays(AS_OF, -1) })], { rules: [COMBINED] }))).toEqual([]);
    // … which passes at maxCombinedP 1e-5
    const looser: FusionRule = { ...COMBINED, params: { ...(COMBINED.params as object), maxCombinedP: 1e-5 } };
    expect(fuse(input([z(3.2), z(3.2, { source: 'pharmacy', date: addDays(AS_OF, -1) })], { rules: [looser] }))).toHaveLength(1);
    // a source without a p-value still counts as a source, but adds nothing: z = 5 alone gives p = 2.87e-7 on 2 df,
    // with a Farrington signal beside it Fisher's p on 4 df is 4.6e-6
    const farrington = sig({ algorithm: 'farringtonFlexible', source: 'pharmacy', statistic: 2, date: addDays(AS_OF, -1) });
    expect(fuse(input([z(5), farrington], { rules: [COMBINED] }))).toEqual([]);
    expect(fuse(input([z(6), farrington], { rules: [COMBINED] }))).toHaveLength(1);
  });

  test('candidates of a rule that does not combine carry no combination', () => {
    expect(fuse(input([sig({}), sig({ source: 'pharmacy' })]))[0].evidence).toBeUndefined();
  });

  const SUPPORTED: FusionRule = { ...MULTI, version: 3, params: { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 5, strongFactor: 2, maxCombinedP: 1e-6, supportP: 0.01 } };
  // an alarm far beyond its threshold: z = 5, p = 2.8665e-7 (R: pnorm(5, lower.tail = FALSE))
  const alarm = () => sig({ algorithm: 'earsC2', observed: 20, threshold: 8, statistic: 5 });
  // a pharmacy series that did not alarm, z = 2.5 (p = 6.2097e-3 ≤ 0.01), or z = 2 (p = 0.02275 > 0.01)
  const below = (statistic: number, over: Partial<FusionSignal> = {}) =>
    sig({ algorithm: 'earsC2', source: 'pharmacy', category: 'antipyretic', community: 102, observed: 4, threshold: 6, statistic, support: true, ...over });
  test('support (supportP): a sub-threshold score of another source supports an alarm, and is combined with it', () => {
    const a = alarm();
    const b = below(2.5);
    const [c] = fuse(input([a, b], { rules: [SUPPORTED] }));
    expect(c).toMatchObject({ ruleVersion: 3, communities: [101, 102], groups: ['clinical', 'pharmacy'], signalIds: [a.id, b.id] });
    // Fisher: −2 (ln 2.8665e-7 + ln 6.2097e-3) = 40.29329 on 4 df, p = 3.764125e-8 (R: pchisq(40.29329, 4, lower.tail = FALSE))
    expect(c.evidence).toMatchObject({ df: 4, statistic: expect.closeTo(40.29329, 4), pValue: expect.closeTo(3.764125e-8, 13) });
    expect(c.evidence!.groups.map((g) => [g.source, g.signalId, g.pValue])).toEqual([['fever_clinic', a.id, expect.closeTo(2.8665e-7, 10)], ['pharmacy', b.id, expect.closeTo(6.2097e-3, 6)]]);
    // a score above supportP is no support; nor is any support for a rule with supportP 0 (the default)
    expect(fuse(input([alarm(), below(2)], { rules: [SUPPORTED] }))).toEqual([]);
    const off: FusionRule = { ...SUPPORTED, params: { ...(SUPPORTED.params as object), supportP: 0 } };
    expect(fuse(input([alarm(), below(2.5)], { rules: [off] }))).toEqual([]);
    // support alone, however strong together, makes no alert: the evidence needs its alarm
    expect(fuse(input([below(3, { source: 'fever_clinic', category: 'visits' }), below(3)], { rules: [SUPPORTED] }))).toEqual([]);
    // a weak alarm (below 2 × its threshold) with support is not enough either
    expect(fuse(input([sig({ algorithm: 'earsC2', observed: 10, threshold: 8, statistic: 5 }), below(2.5)], { rules: [SUPPORTED] }))).toEqual([]);
    // support does not have to count minObserved cases (the alarm does)
    expect(fuse(input([alarm(), below(2.5, { observed: 2 })], { rules: [SUPPORTED] }))).toHaveLength(1);
  });

  test('support signals are never alarms of their own: high_threshold and the high marks leave them out', () => {
    const s = below(3, { observed: 40, threshold: 10 });
    expect(fuse(input([s], { rules: [HIGH, SUPPORTED] }))).toEqual([]);
    expect(highSignalIds(input([s], { rules: [HIGH] }))).toEqual([]);
  });
});

describe('high_threshold: one signal far beyond its threshold', () => {
  test.each([
    ['at factor × threshold and minObserved', { observed: 30, threshold: 10 }, true],
    ['below factor × threshold', { observed: 29, threshold: 10 }, false],
    ['beyond the factor but below minObserved', { observed: 9, threshold: 2 }, false],
    ['no threshold', { observed: 50, threshold: null }, false],
    ['a scan cluster with p ≤ maxP', { algorithm: 'stscan', observed: 5, threshold: null, pValue: 0.001 }, true],
    ['a scan cluster with p > maxP', { algorithm: 'stscan', observed: 500, threshold: null, pValue: 0.002 }, false],
  ] as const)('%s', (_, over, expected) => {
    const s = sig(over as Partial<FusionSignal>);
    const c = fuse(input([s], { rules: [HIGH] }));
    expect(c.length).toBe(expected ? 1 : 0);
    if (expected) expect(c[0]).toMatchObject({ kind: 'high_threshold', riskLevel: 'medium', signalIds: [s.id], dedupeKey: 'high_threshold:fever:101' });
    expect(highSignalIds(input([s], { rules: [HIGH] }))).toEqual(expected ? [s.id] : []);
  });

  test('several high signals of one syndrome and community make one candidate; old ones none', () => {
    const c = fuse(input([sig({ observed: 40, threshold: 5 }), sig({ algorithm: 'earsC2', observed: 40, threshold: 6 }), sig({ observed: 40, threshold: 5, date: addDays(AS_OF, -1) })], { rules: [HIGH] }));
    expect(c).toHaveLength(1);
    expect(c[0].signalIds).toHaveLength(2);
  });

  test('a high signal that is also part of a multi-source candidate is absorbed by it', () => {
    const spike = sig({ observed: 40, threshold: 5 });
    const other = sig({ source: 'pharmacy', community: 102 });
    const c = fuse(input([spike, other], { rules: [MULTI, HIGH] }));
    expect(c.map((x) => x.kind)).toEqual(['multi_source']);
    // elsewhere the spike stands alone
    const lone = sig({ observed: 40, threshold: 5, community: 104 });
    expect(fuse(input([spike, other, lone], { rules: [MULTI, HIGH] })).map((x) => x.dedupeKey)).toEqual(['multi_source:fever:101', 'high_threshold:fever:104']);
  });
});

describe('case_report_class: class A or managed as class A is critical at once', () => {
  const report = (id: number, over: Record<string, unknown> = {}) => ({ id, diseaseCode: 'A00', diseaseClass: 'A' as const, managedAsA: false, syndrome: 'gastrointestinal', community: 101, date: AS_OF, ...over });

  test('class A, and class B managed as A, alert; plain class B does not', () => {
    const c = fuse(input([], { rules: [CLASS_A], caseReports: [report(1), report(2, { diseaseCode: 'U04', diseaseClass: 'B', managedAsA: true, syndrome: 'respiratory' }), report(3, { diseaseCode: 'B05', diseaseClass: 'B', syndrome: 'rash' })] }));
    expect(c.map((x) => [x.dedupeKey, x.riskLevel, x.caseReportIds, x.diseaseCode])).toEqual([
      ['class_a_report:A00:101', 'critical', [1], 'A00'],
      ['class_a_report:U04:101', 'critical', [2], 'U04'],
    ]);
  });

  test('managedAsA false leaves managed-as-A diseases out; two reports of one disease and community make one candidate', () => {
    const strict: FusionRule = { ...CLASS_A, params: { classes: ['A'], managedAsA: false } };
    expect(fuse(input([], { rules: [strict], caseReports: [report(2, { diseaseCode: 'U04', diseaseClass: 'B', managedAsA: true })] }))).toEqual([]);
    expect(fuse(input([], { rules: [CLASS_A], caseReports: [report(1), report(4, { date: addDays(AS_OF, -1) })] }))[0]).toMatchObject({ caseReportIds: [1, 4], firstDate: '2025-03-09', lastDate: AS_OF });
  });
});

describe('extension of open alerts', () => {
  const open = [
    { id: 7, ruleCode: 'multi_source', syndrome: 'fever', communities: [101, 102], core: [101, 102], dedupeKey: 'multi_source:fever:101', lastDate: addDays(AS_OF, -1) },
    { id: 8, ruleCode: 'multi_source', syndrome: 'respiratory', communities: [103], core: [103], dedupeKey: 'multi_source:respiratory:103', lastDate: addDays(AS_OF, -1) },
  ];

  test('the next day’s candidate for the same syndrome and area extends the open alert, even when its area moved', () => {
    const today = fuse(input([sig({ community: 102 }), sig({ source: 'laboratory', community: 103 })]));
    expect(today[0].dedupeKey).toBe('multi_source:fever:102');
    expect(matchOpenAlert(today[0], open, ADJ, 'adjacent')?.id).toBe(7);
    expect(matchOpenAlert(today[0], open, ADJ, 'same')?.id).toBe(7);
  });

  test('a bordering area extends only when the rule counts adjacency; another syndrome or rule never', () => {
    const c = fuse(input([sig({ community: 103 }), sig({ source: 'pharmacy', community: 103 })]))[0];
    expect(matchOpenAlert(c, open, ADJ, 'adjacent')?.id).toBe(7);
    expect(matchOpenAlert(c, open, ADJ, 'same')).toBeNull();
    expect(matchOpenAlert({ ...c, syndrome: 'rash' }, open, ADJ, 'adjacent')).toBeNull();
    expect(matchOpenAlert({ ...c, ruleCode: 'other' }, open, ADJ, 'adjacent')).toBeNull();
  });

  test('an alert extends from its core only: its area grows by the core’s neighbours, and a neighbour’s neighbour opens its own', () => {
    const grown = { ...open[0], communities: [101, 102], core: [101] };
    const in103 = fuse(input([sig({ community: 103 }), sig({ source: 'pharmacy', community: 103 })]))[0];
    expect(matchOpenAlert(in103, [grown], ADJ, 'adjacent')).toBeNull();
    const in102 = fuse(input([sig({ community: 102 }), sig({ source: 'pharmacy', community: 103 })]))[0];
    expect(in102.communities).toEqual([102, 103]);
    expect(matchOpenAlert(in102, [grown], ADJ, 'adjacent')?.id).toBe(7);
    // 103 is outside the core's neighbourhood: it does not join the alert's area
    expect(extendedArea(grown, in102, ADJ, 'adjacent')).toEqual([101, 102]);
    expect(extendedArea({ communities: [102], core: [102] }, in102, ADJ, 'adjacent')).toEqual([102, 103]);
  });

  test('after a quiet gap a new episode is a new alert', () => {
    const c = fuse(input([sig({ community: 101 }), sig({ source: 'pharmacy', community: 101 })]))[0];
    const at = (days: number) => [{ ...open[0], lastDate: addDays(AS_OF, -days) }];
    expect(matchOpenAlert(c, at(EXTEND_WITHIN_DAYS), ADJ, 'adjacent')?.id).toBe(7);
    expect(matchOpenAlert(c, at(EXTEND_WITHIN_DAYS + 1), ADJ, 'adjacent')).toBeNull();
  });

  test('case-report candidates extend by key only', () => {
    const c = fuse(input([], { rules: [CLASS_A], caseReports: [{ id: 1, diseaseCode: 'A00', diseaseClass: 'A', managedAsA: false, syndrome: 'fever', community: 101, date: AS_OF }] }))[0];
    expect(matchOpenAlert(c, [{ ...open[0], ruleCode: 'class_a_report' }], ADJ)).toBeNull();
    expect(matchOpenAlert(c, [{ ...open[0], id: 9, dedupeKey: 'class_a_report:A00:101' }], ADJ)?.id).toBe(9);
  });
});

describe('rule parameters', () => {
  test('defaults fill in; unknown keys and bad values are refused naming the key', () => {
    expect(parseParams('multi_source', {})).toEqual({ minSources: 2, windowDays: 3, adjacency: 'adjacent', minObserved: 0, strongFactor: 1, maxCombinedP: 1, minDays: 1, supportP: 0 });
    const issue = (kind: 'multi_source' | 'high_threshold', params: unknown) => {
      try {
        parseParams(kind, params);
      } catch (e) {
        return (e as ZodError).issues[0];
      }
      throw new Error('accepted');
    };
    expect(issue('multi_source', { minSources: 1 }).path).toEqual(['minSources']);
    expect(issue('multi_source', { adjacency: 'near' }).path).toEqual(['adjacency']);
    expect(issue('multi_source', { maxCombinedP: 0 }).path).toEqual(['maxCombinedP']);
    expect(issue('multi_source', { minDays: 1.5 }).path).toEqual(['minDays']);
    expect(issue('multi_source', { supportP: 0.6 }).path).toEqual(['supportP']);
    expect(issue('high_threshold', { maxP: 0 }).path).toEqual(['maxP']);
    expect(issue('high_threshold', { factor: 3, extra: 1 }).code).toBe('unrecognized_keys');
  });
});
