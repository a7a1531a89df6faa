// Bulk import of NDJSON (one FHIR resource per line), idempotent on the sender's ids.
//
// Each resource is kept under its sender's key: the first `identifier` (system|value in source_id, as every write
// does) or else its `id`, as source_id `urn:caregrid:import:<Type>|<id>` under the recording institution, so a
// re-import updates instead of duplicating. References between imported resources (Observation.encounter →
// Encounter/<sender id>) resolve through the sender ids seen in this import, then through those urn source ids,
// then as local ids.
//
// Lines are read as they arrive and processed in batches (default 5,000). Table-backed kinds take a fast path that
// keeps the per-resource rules — each line goes through the kind's own toRow, so validation is the same as a REST
// create — but does the database work per batch: one query preloads every reference of the batch, one query
// allocates ids from the table's identity sequence, new rows go in with one COPY, existing ones change with one
// set-based UPDATE, and the treatment care relationships an encounter creates are written set-based. Custom kinds
// (Patient: the master person index; registry resources) go through repository.create one by one.
//
// A failed line is reported (source, line number, OperationOutcome naming the element) and the batch's valid lines
// are kept. The COPY is one statement; the batch's updates, care relationships and the job's progress commit
// together after it, and if that transaction fails the COPYed rows are deleted again. A crash between the two leaves
// rows that a re-import (idempotent) turns into updates: nothing the job's progress acknowledged is lost.
import { mkdirSync, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Db, Queryable } from '../../db/engine.ts';
import { copyValue } from '../../db/engine.ts';
import type { Keys } from '../../platform/crypto.ts';
import type { Principal } from '../../platform/principal.ts';
import { hasRole } from '../../platform/principal.ts';
import { audit, type AuditContext } from '../../platform/audit.ts';
import { assertActsForInstitution } from '../../platform/access.ts';
import { AppError, type Locale } from '../../platform/errors.ts';
import { operationOutcome } from '../outcome.ts';
import type { Json, ParsedReference } from '../datatypes.ts';
import { KINDS } from '../registry.ts';
import * as repo from '../repository.ts';
import { careMoment, encounterKind, ensureTreatmentRelationships, treatmentCutoff, type TreatmentGrant } from '../resources/encounter.ts';
import type { ResourceKind, WriteContext } from '../types.ts';
import { runRecordHooks } from '../hooks.ts';
import { createJob, importSourceId, jobDir, ownJob, rank, setJob, writeOrder } from './jobs.ts';
import { fileLines } from './ndjson.ts';

export interface ImportOptions {
  db: Db;
  keys: Keys;
  principal: Principal;
  audit: AuditContext;
  dataDir: string;
  base: string;
  locale: Locale;
  batchSize?: number;
  /** Called after each committed batch (CLI progress, benchmarks). */
  onBatch?(s: ImportSummary): void;
  /** Seconds per phase, filled when given (the benchmark's breakdown). */
  timings?: Record<string, number>;
}

export interface ImportSource {
  name: string;
  lines: AsyncIterable<string>;
}

export interface LineError {
  source: string;
  line: number;
  resourceType: string | null;
  outcome: Json;
}

export interface TypeCount {
  type: string;
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportSummary {
  job: string;
  transactionTime: string;
  lines: number;
  imported: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  output: TypeCount[];
  /** The first MAX_REPORTED failed lines; all of them are in the job's OperationOutcome.ndjson. */
  error: LineError[];
}

const MAX_REPORTED = 1000;
/** Other reference targets CareGrid keeps in tables, for kinds the registry may not serve yet. */
const TABLE_OF: Record<string, string> = { Patient: 'resident', Organization: 'institution', Practitioner: 'practitioner', PractitionerRole: 'practitioner' };
const REF_RE = /^(?:[a-z]+:\/\/[^?]*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/\d+)?$/;

/** Bulk writes reach the whole population's records: the district administrator's. */
export function assertImporter(p: Principal) {
  if (!hasRole(p, 'district_admin')) throw new AppError('FORBIDDEN');
}

interface Line {
  source: string;
  line: number;
  text: string;
}

interface Item extends Line {
  r: Json;
}

interface WriteRow {
  item: Item;
  values: Record<string, unknown>;
  /** earlier lines of this batch with the same sender key */
  also: Item[];
  id?: number;
}

interface KindWrite {
  kind: ResourceKind;
  rows: WriteRow[];
  fresh: WriteRow[];
  existing: WriteRow[];
  cols: string[];
  /** COPY text of the new rows */
  text: string;
  /** new rows were not looked up: a unique violation of the COPY means "some already exist" */
  optimistic?: boolean;
}

interface Prepared {
  lines: Line[];
  writes: KindWrite[];
}

interface Ref {
  holder: Json;
  type: string;
  id: string;
}

function tableOf(type: string): string | undefined {
  return KINDS.get(type)?.table ?? TABLE_OF[type];
}

function hasSourceId(type: string): boolean {
  const k = KINDS.get(type);
  return !!k?.toRow; // table-backed record tables all carry (institution_id, source_id)
}

/** Every `{reference: "Type/id"}` in a resource (any depth), to resolve and rewrite in place. */
function collectRefs(v: unknown, out: Ref[]) {
  if (Array.isArray(v)) {
    for (const x of v) collectRefs(x, out);
  } else if (v && typeof v === 'object') {
    const o = v as Json;
    if (typeof o.reference === 'string') {
      const m = REF_RE.exec(o.reference);
      if (m) out.push({ holder: o, type: m[1], id: m[2] });
    }
    for (const k in o) {
      const x = o[k];
      if (x && typeof x === 'object') collectRefs(x, out);
    }
  }
}

/** COPY text for one value, as repository.ts's sqlValue decides what is jsonb and what is a PostgreSQL array. */
function copyOf(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && !(Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string'))) return copyValue(JSON.stringify(v));
  return copyValue(v);
}

interface Stats {
  created: number;
  updated: number;
  unchanged: number;
}

class Importer {
  readonly opts: ImportOptions;
  readonly jobId: string;
  readonly summary: ImportSummary;
  /** Sender ids seen in this import, per type: sender id → local id (one map per type: no key strings to build). */
  private readonly senderIds = new Map<string, Map<string, number>>();
  /**
   * Whether new rows of a batch are first looked up by their sender key. A first import (the bulk case) skips the
   * lookup: the table's unique (institution_id, source_id) index refuses a key that exists, the COPY then fails as a
   * whole, and the batch is prepared again with the lookup — as is the rest of the import, which is evidently a
   * re-import. A sender id this import already wrote (the same key in two batches) is looked up too.
   */
  private lookUpKeys = false;
  private readonly uniqueKey = new Map<string, boolean>();
  /** The commit of the previous batch, while it runs (a lookup of a key it writes must wait for it). */
  inflight: Promise<boolean> | null = null;
  /** Local ids known to exist, per table (references to residents and institutions repeat across batches). */
  private readonly known = new Map<string, Set<number>>();
  private readonly byType = new Map<string, Stats>();
  private readonly columnTypes = new Map<string, Map<string, string>>();
  private institution = 0;
  private readonly failedLines = new Set<string>();
  /** Care relationships this import already ensured, with the date they reach (resident/institution/kind → until). */
  private readonly ensured = new Map<string, string>();
  /** "Now" for the records without a clinical date: the import's start (one value, so repeated relationships are skipped). */
  private readonly now = new Date().toISOString();
  private base!: WriteContext;
  private errors: WriteStream | null = null;
  private rc: repo.RequestContext;

  constructor(opts: ImportOptions, jobId: string, transactionTime: string) {
    this.opts = opts;
    this.jobId = jobId;
    this.summary = { job: jobId, transactionTime, lines: 0, imported: 0, created: 0, updated: 0, unchanged: 0, failed: 0, output: [], error: [] };
    this.rc = { q: opts.db, keys: opts.keys, principal: opts.principal, audit: opts.audit, base: opts.base };
  }

  async init() {
    this.base = repo.writeContext(this.rc);
    this.institution = await this.base.recordingInstitution(null, 'Bundle.entry');
  }

  private time(phase: string, t0: number) {
    if (this.opts.timings) this.opts.timings[phase] = (this.opts.timings[phase] ?? 0) + (performance.now() - t0) / 1000;
  }

  private stats(type: string): Stats {
    let s = this.byType.get(type);
    if (!s) this.byType.set(type, (s = { created: 0, updated: 0, unchanged: 0 }));
    return s;
  }

  /** Starts a batch: a batch prepared again (after the previous one fell back) does not report its lines twice. */
  newBatch() {
    this.failedLines.clear();
  }

  fail(item: { source: string; line: number; r?: Json | null }, err: unknown) {
    const key = `${item.source}\u0000${item.line}`;
    if (this.failedLines.has(key)) return;
    this.failedLines.add(key);
    const { body } = operationOutcome(err, this.opts.locale);
    for (const issue of body.issue as Json[]) issue.diagnostics = `${item.source} line ${item.line}: ${issue.diagnostics}`;
    const e: LineError = { source: item.source, line: item.line, resourceType: typeof item.r?.resourceType === 'string' ? item.r.resourceType.slice(0, 40) : null, outcome: body };
    this.summary.failed++;
    if (this.summary.error.length < MAX_REPORTED) this.summary.error.push(e);
    if (!this.errors) {
      const dir = jobDir(this.opts.dataDir, this.jobId);
      mkdirSync(dir, { recursive: true });
      this.errors = createWriteStream(join(dir, 'OperationOutcome.ndjson'));
    }
    this.errors.write(JSON.stringify(body) + '\n');
  }

  /** Parses a batch's lines and groups them by kind; a line that is not a resource this server stores fails here. */
  private parse(lines: Line[]): Map<string, Item[]> {
    const t0 = performance.now();
    const groups = new Map<string, Item[]>();
    for (const l of lines) {
      let r: Json;
      try {
        r = JSON.parse(l.text);
      } catch {
        this.fail(l, new AppError('MALFORMED_JSON'));
        continue;
      }
      try {
        if (!r || typeof r !== 'object' || Array.isArray(r)) throw new AppError('FHIR_INVALID', { path: 'resourceType', detail: 'a line must be one JSON resource' }, 'resourceType');
        if (typeof r.resourceType !== 'string' || !KINDS.has(r.resourceType)) throw new AppError('FHIR_INVALID', { path: 'resourceType', detail: `${String(r.resourceType ?? 'nothing').slice(0, 40)} is not a resource type this server stores` }, 'resourceType');
        if (r.contained !== undefined) throw new AppError('FHIR_UNSUPPORTED', { detail: 'contained resources' }, `${r.resourceType}.contained`);
      } catch (err) {
        this.fail({ ...l, r }, err);
        continue;
      }
      const g = groups.get(r.resourceType) ?? [];
      g.push({ source: l.source, line: l.line, text: l.text, r });
      groups.set(r.resourceType, g);
    }
    this.time('parse', t0);
    return groups;
  }

  /**
   * Everything before the batch's writes: parse, then each kind in write order (a kind after the kinds it refers
   * to) validated and mapped by toRow, its references resolved, its existing rows found and its new rows given ids
   * and COPY text. The previous batch's COPY may still be running meanwhile (the two cores overlap).
   */
  async prepare(lines: Line[]): Promise<Prepared> {
    const groups = this.parse(lines);
    const writes: KindWrite[] = [];
    for (const kind of writeOrder()) {
      const items = groups.get(kind.type);
      if (!items?.length) continue;
      if (kind.toRow) {
        const w = await this.prepareKind(kind, items);
        if (w) writes.push(w);
      } else {
        await this.oneByOne(kind, items);
      }
    }
    return { lines, writes };
  }

  /** The batch's writes; false when one had to fall back to line-by-line writes (the next batch is then prepared again). */
  async commit(p: Prepared): Promise<boolean> {
    let clean = true;
    for (const w of p.writes) {
      let batchRedo = !clean;
      try {
        // after a redo, later kinds of the batch may refer to rows it did not keep: they are prepared again too
        if (!clean) throw new Error('redo');
        await this.commitKind(w);
        continue;
      } catch (err) {
        clean = false;
        if (w.optimistic && (err as { code?: string })?.code === '23505') {
          // a key of the batch exists (a re-import, or a concurrent writer): look keys up from now on
          this.lookUpKeys = true;
          batchRedo = true;
        }
      }
      if (batchRedo) {
        try {
          const again = await this.prepareKind(w.kind, this.itemsOf(w), true);
          if (again) await this.commitKind(again);
          continue;
        } catch {
          // fall through to line by line
        }
      }
      {
        // A row the database refused (a constraint, a concurrent writer): write the lines one by one to find it.
        for (const r of w.rows) {
          for (const item of [...r.also, r.item]) {
            try {
              const again = { ...item, r: JSON.parse(item.text) };
              const one = await this.prepareKind(w.kind, [again], true);
              if (one) await this.commitKind(one);
            } catch (e) {
              this.fail(item, e);
            }
          }
        }
      }
    }
    const t0 = performance.now();
    this.summary.lines = Math.max(this.summary.lines, p.lines.length ? p.lines[p.lines.length - 1].line : 0);
    this.summary.output = [...this.byType.entries()].map(([type, s]) => ({ type, ...s }));
    this.opts.onBatch?.(this.summary);
    this.time('progress', t0);
    return clean;
  }

  private sendersOf(type: string): Map<string, number> {
    let m = this.senderIds.get(type);
    if (!m) this.senderIds.set(type, (m = new Map()));
    return m;
  }

  /** A kind's lines of a prepared batch, parsed again from their text (toRow rewrote references in the parsed ones). */
  private itemsOf(w: KindWrite): Item[] {
    return w.rows.flatMap((r) => [...r.also, r.item]).map((it) => ({ ...it, r: JSON.parse(it.text) }));
  }

  private knownIn(table: string): Set<number> {
    let set = this.known.get(table);
    if (!set) this.known.set(table, (set = new Set()));
    return set;
  }

  /** Resolves the batch's references (sender ids of this import, urn source ids, local ids) and rewrites them to local ids. */
  private async resolveRefs(items: Item[]) {
    const refs: Ref[] = [];
    for (const it of items) {
      for (const k in it.r) {
        const v = it.r[k];
        if (v && typeof v === 'object' && k !== 'identifier' && k !== 'meta') collectRefs(v, refs);
      }
    }
    const pending = new Map<string, Set<string>>();
    for (const ref of refs) {
      if (this.senderIds.get(ref.type)?.has(ref.id)) continue;
      const set = pending.get(ref.type) ?? new Set<string>();
      set.add(ref.id);
      pending.set(ref.type, set);
    }
    for (const [type, ids] of pending) {
      const table = tableOf(type);
      if (!table) continue;
      const known = this.knownIn(table);
      if (known.size > 2_000_000) known.clear();
      let left = [...ids];
      if (hasSourceId(type)) {
        const urns = left.map((id) => importSourceId(type, id));
        const { rows } = await this.opts.db.query(`SELECT id, source_id FROM ${table} WHERE institution_id = $1 AND source_id = ANY($2::text[])`, [this.institution, urns]);
        const senders = this.sendersOf(type);
        for (const row of rows) senders.set(row.source_id.slice(row.source_id.indexOf('|') + 1), row.id);
        left = left.filter((id) => !senders.has(id));
      }
      const numeric = left.filter((id) => /^\d{1,15}$/.test(id) && !known.has(Number(id))).map(Number);
      if (numeric.length) {
        const { rows } = await this.opts.db.query(`SELECT id FROM ${table} WHERE id = ANY($1::bigint[])`, [numeric]);
        for (const row of rows) known.add(row.id);
      }
    }
    for (const ref of refs) {
      const local = this.senderIds.get(ref.type)?.get(ref.id);
      if (local !== undefined) {
        ref.holder.reference = `${ref.type}/${local}`;
        this.knownIn(tableOf(ref.type)!).add(local);
      }
    }
  }

  /** The kinds' own WriteContext, answering from what resolveRefs established; anything else as a REST write would. */
  private context(): WriteContext {
    const base = this.base;
    const ctx: WriteContext = {
      ...base,
      resolve: async (ref: ParsedReference | null, path: string) => {
        if (!ref) return null;
        const table = tableOf(ref.type);
        if (ref.id !== undefined && table) {
          if (this.known.get(table)?.has(ref.id)) return ref.id;
          throw new AppError('FHIR_BAD_REFERENCE', { path: `${path}.reference`, ref: `${ref.type}/${ref.id}` }, `${path}.reference`);
        }
        if (ref.placeholder) throw new AppError('FHIR_BAD_REFERENCE', { path: `${path}.reference`, ref: ref.placeholder }, `${path}.reference`);
        return base.resolve(ref, path);
      },
      recordingInstitution: async (named: ParsedReference | null, path: string) => {
        if (!named) return this.institution;
        const id = (await ctx.resolve(named, path))!;
        assertActsForInstitution(this.opts.principal, id);
        return id;
      },
    };
    return ctx;
  }

  private async columnsOf(q: Queryable, table: string): Promise<Map<string, string>> {
    let m = this.columnTypes.get(table);
    if (!m) {
      const { rows } = await q.query(
        'SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped',
        [table],
      );
      m = new Map(rows.map((r) => [r.name as string, r.type as string]));
      this.columnTypes.set(table, m);
    }
    return m;
  }

  /** The fast path for a table-backed kind, first half: toRow per line, then the batch's lookups and ids. */
  private async prepareKind(kind: ResourceKind, items: Item[], redo = false): Promise<KindWrite | null> {
    const { db } = this.opts;
    let t0 = performance.now();
    await this.resolveRefs(items);
    this.time(`${kind.type}: references`, t0);
    t0 = performance.now();
    const ctx = this.context();
    // the same sender key twice in a batch: the later line wins, as it would one request after the other
    const byKey = new Map<string, WriteRow>();
    let anon = 0;
    for (const item of items) {
      try {
        const values = await kind.toRow!(item.r, ctx, null);
        if (values.source_id == null && (typeof item.r.id === 'string' || typeof item.r.id === 'number')) values.source_id = importSourceId(kind.type, String(item.r.id));
        const key = values.source_id != null ? `${values.institution_id}\u0000${values.source_id}` : `\u0001${anon++}`;
        const prev = byKey.get(key);
        byKey.set(key, { item, values, also: prev ? [...prev.also, prev.item] : [] });
      } catch (err) {
        this.fail(item, err);
      }
    }
    this.time(`${kind.type}: toRow`, t0);
    if (byKey.size === 0) return null;
    const rows = [...byKey.values()];
    t0 = performance.now();
    const table = kind.table;
    const keyed = rows.filter((r) => r.values.source_id != null);
    const optimistic = keyed.length > 0 && !(await this.mustLookUp(kind, rows, redo));
    if (keyed.length && !optimistic) {
      const { rows: found } = await db.query(
        `SELECT t.id, t.institution_id, t.source_id FROM unnest($1::bigint[], $2::text[]) AS k(i, s) JOIN ${table} t ON t.institution_id = k.i AND t.source_id = k.s`,
        [keyed.map((r) => r.values.institution_id), keyed.map((r) => r.values.source_id)],
      );
      const ids = new Map(found.map((f) => [`${f.institution_id}\u0000${f.source_id}`, f.id as number]));
      for (const r of keyed) r.id = ids.get(`${r.values.institution_id}\u0000${r.values.source_id}`);
    }
    const fresh = rows.filter((r) => r.id === undefined);
    const existing = rows.filter((r) => r.id !== undefined);
    // the union of the rows' columns, in first-seen order (rows of a kind mostly share one shape)
    const seen = new Set<string>();
    for (const r of rows) for (const c in r.values) seen.add(c);
    const cols = [...seen];
    this.time(`${kind.type}: lookup`, t0);
    let text = '';
    if (fresh.length) {
      t0 = performance.now();
      const { rows: ids } = await db.query(`SELECT nextval(pg_get_serial_sequence($1, 'id'))::bigint AS id FROM generate_series(1, $2::int)`, [table, fresh.length]);
      fresh.forEach((r, i) => {
        r.id = ids[i].id as number;
        let line = String(r.id);
        for (const c of cols) line += '\t' + copyOf(r.values[c]);
        text += line + '\n';
      });
      this.time(`${kind.type}: ids + encode`, t0);
    }
    // later lines (and the next batch) refer to these rows by their sender ids from now on
    const senders = this.sendersOf(kind.type);
    const known = this.knownIn(table);
    const remember = (it: Item, id: number) => {
      if (typeof it.r.id === 'string' || typeof it.r.id === 'number') senders.set(String(it.r.id), id);
    };
    for (const r of rows) {
      remember(r.item, r.id!);
      for (const it of r.also) remember(it, r.id!);
      known.add(r.id!);
    }
    return { kind, rows, fresh, existing, cols, text, optimistic };
  }

  /**
   * Whether this batch's keys must be looked up (see lookUpKeys): always when a refused batch is written again (a
   * redo, during the commit), and then without waiting; else when a key repeats one the previous batch writes, after it.
   */
  private async mustLookUp(kind: ResourceKind, rows: WriteRow[], redo: boolean): Promise<boolean> {
    if (this.lookUpKeys || redo) return true;
    let unique = this.uniqueKey.get(kind.table!);
    if (unique === undefined) {
      const { rows: ix } = await this.opts.db.query(
        `SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique
            AND (SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) = ARRAY['institution_id', 'source_id']`,
        [kind.table],
      );
      this.uniqueKey.set(kind.table!, (unique = ix.length > 0));
    }
    if (!unique) return true;
    const senders = this.senderIds.get(kind.type);
    const again = !!senders && rows.some((r) => [r.item, ...r.also].some((it) => (typeof it.r.id === 'string' || typeof it.r.id === 'number') && senders.has(String(it.r.id))));
    if (again && this.inflight) await this.inflight.catch(() => false);
    return again;
  }

  /** Second half: one COPY for the new rows, then updates, care relationships and progress in one transaction. */
  private async commitKind(w: KindWrite) {
    const { db } = this.opts;
    const { kind, rows, fresh, existing, cols } = w;
    let t0 = performance.now();
    if (fresh.length) await db.copyFrom(kind.table, ['id', ...cols], [w.text]);
    this.time(`${kind.type}: COPY`, t0);
    t0 = performance.now();
    let changed: number;
    let remember: (() => void) | undefined;
    try {
      changed = await db.tx(async (q) => {
        const n = existing.length ? await this.updateExisting(q, kind.table, cols, existing) : 0;
        let t1 = performance.now();
        remember = await this.relationships(q, kind, rows);
        this.time(`${kind.type}: relationships`, t1);
        t1 = performance.now();
        // modules following these records (chronic-disease enrolment, danger values) see the whole batch at once
        await runRecordHooks(kind.type, rows.map((r) => ({ id: r.id!, values: r.values })), { q, principal: this.opts.principal, audit: this.opts.audit, via: 'bulk' });
        this.time(`${kind.type}: hooks`, t1);
        // the job's progress commits with the batch: what it acknowledges is written
        const done = this.summary.imported + rows.length + rows.reduce((k, r) => k + r.also.length, 0);
        await q.query('UPDATE job SET result = $2::jsonb WHERE id = $1', [this.jobId, JSON.stringify({ transactionTime: this.summary.transactionTime, imported: done, failed: this.summary.failed, lastLine: rows[rows.length - 1].item.line })]);
        return n;
      });
    } catch (err) {
      if (fresh.length) await db.query(`DELETE FROM ${kind.table} WHERE id = ANY($1::bigint[])`, [fresh.map((r) => r.id)]).catch(() => {});
      throw err;
    }
    remember?.();
    this.count(kind, fresh.length, changed, existing.length - changed, rows);
    this.time(`${kind.type}: update + relationships`, t0);
  }

  private count(kind: ResourceKind, created: number, updated: number, unchanged: number, rows: { also: Item[] }[]) {
    const s = this.stats(kind.type);
    const dup = rows.reduce((n, r) => n + r.also.length, 0);
    s.created += created;
    s.updated += updated;
    s.unchanged += unchanged + dup;
    this.summary.created += created;
    this.summary.updated += updated;
    this.summary.unchanged += unchanged + dup;
    this.summary.imported += created + updated + unchanged + dup;
  }

  /** Changed rows of existing records in one UPDATE … FROM jsonb_to_recordset; unchanged ones get no new version. */
  private async updateExisting(q: Queryable, table: string, cols: string[], rows: { values: Record<string, unknown>; id?: number }[]): Promise<number> {
    const types = await this.columnsOf(q, table);
    const set = cols.filter((c) => c !== 'institution_id' && c !== 'source_id');
    const def = ['id bigint', ...set.map((c) => `${c} ${types.get(c) ?? 'text'}`)].join(', ');
    const payload = rows.map((r) => {
      const o: Json = { id: r.id };
      for (const c of set) o[c] = r.values[c] ?? null;
      return o;
    });
    const { rowCount } = await q.query(
      `UPDATE ${table} AS t SET ${set.map((c) => `${c} = s.${c}`).join(', ')}
         FROM jsonb_to_recordset($1::jsonb) AS s(${def})
        WHERE t.id = s.id AND (${set.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${set.map((c) => `s.${c}`).join(', ')})`,
      [JSON.stringify(payload)],
    );
    return rowCount;
  }

  /**
   * Care given at an institution is a care relationship (see ensureTreatmentRelationship): one statement per batch
   * extends the open ones and inserts the missing ones. Encounters use their class and end, other records their
   * clinical date (careMoment), as REST writes do; care whose access has run out grants nothing. A kind with another
   * afterWrite hook runs it per row.
   */
  private async relationships(q: Queryable, kind: ResourceKind, rows: { values: Record<string, unknown>; id?: number }[]): Promise<(() => void) | undefined> {
    if (!kind.residentColumn || kind.isResident) return;
    if (kind.afterWrite && kind.afterWrite !== encounterKind.afterWrite) {
      const ctx = { ...this.context(), q };
      for (const r of rows) await kind.afterWrite(r.id!, r.values, ctx);
      return;
    }
    const isEncounter = kind.afterWrite === encounterKind.afterWrite;
    const now = this.now;
    const cutoff = treatmentCutoff();
    const agg = new Map<string, { resident: number; institution: number; kind: string; until: string; known: boolean }>();
    for (const r of rows) {
      const v = r.values;
      if (!v.resident_id || !v.institution_id) continue;
      const rel = isEncounter && v.class === 'inpatient' ? 'admission' : 'consultation';
      const at = isEncounter ? (v.end_at ?? v.start_at) as Date : careMoment(kind, v, now);
      const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
      if (ms < cutoff) continue; // history: its access has run out (as in ensureTreatmentRelationships)
      const until = typeof at === 'string' ? new Date(ms).toISOString() : at.toISOString();
      const key = `${v.resident_id}/${v.institution_id}/${rel}`;
      const prev = agg.get(key);
      const done = this.ensured.get(key);
      if ((!prev || prev.until < until) && (!done || done < until)) agg.set(key, { resident: v.resident_id as number, institution: v.institution_id as number, kind: rel, until, known: done !== undefined });
    }
    if (!agg.size) return undefined;
    const list = [...agg.values()];
    // The plan must be per-key index probes whatever the statistics say: with autovacuum off or behind a bulk load,
    // care_relationship still looks like the handful of rows it held at the last ANALYZE (valid_to and institution_id
    // all NULL), and the planner then scans the whole table once per key (~20 s per batch at 200,000 rows). Hash and
    // merge joins are switched off for this transaction only (SET LOCAL), and JIT (triggered by cost estimates, not
    // work) is off.
    await q.query("SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)");
    // keys an earlier batch of this import committed exist: those are only extended (Observations after their Encounters)
    const grants = (xs: typeof list) => xs.map((x) => ({ residentId: x.resident, institutionId: x.institution, kind: x.kind as TreatmentGrant['kind'], until: x.until }));
    const known = list.filter((x) => x.known);
    if (known.length) await ensureTreatmentRelationships(q, grants(known), true);
    if (known.length < list.length) await ensureTreatmentRelationships(q, grants(list.filter((x) => !x.known)));
    // remembered once the batch commits (a rolled-back batch must not leave a relationship marked as ensured)
    return () => {
      if (this.ensured.size > 2_000_000) this.ensured.clear();
      for (const x of list) this.ensured.set(`${x.resident}/${x.institution}/${x.kind}`, x.until);
    };
  }

  /** Custom kinds (Patient, registry resources): one repository.create per line, each in its own transaction. */
  private async oneByOne(kind: ResourceKind, items: Item[]) {
    await this.resolveRefs(items);
    const s = this.stats(kind.type);
    for (const item of items) {
      try {
        const out = await this.opts.db.tx((q) => repo.create({ ...this.rc, q }, kind.type, item.r));
        if (out.created) s.created++, this.summary.created++;
        else s.updated++, this.summary.updated++;
        this.summary.imported++;
        if (typeof item.r.id === 'string' || typeof item.r.id === 'number') this.sendersOf(kind.type).set(String(item.r.id), out.id);
        const table = tableOf(kind.type);
        if (table) this.knownIn(table).add(out.id);
      } catch (err) {
        this.fail(item, err);
      }
    }
  }

  async finish(): Promise<ImportSummary> {
    if (this.errors) await new Promise<void>((resolve) => this.errors!.end(() => resolve()));
    await setJob(this.opts.db, this.jobId, { status: 'completed', result: { ...this.summary, error: this.summary.error.slice(0, 100) } });
    return this.summary;
  }
}

/** Imports NDJSON sources in order, batch by batch; one job row and one audit event for the whole import. */
export async function importStream(opts: ImportOptions, sources: ImportSource[]): Promise<ImportSummary> {
  assertImporter(opts.principal);
  const transactionTime = new Date().toISOString();
  const jobId = await createJob(opts.db, 'fhir-import', opts.principal.userId, { sources: sources.map((s) => s.name) }, 'running');
  // One audit event per import (not per resource): the job row keeps its counts and every failed line.
  await audit(opts.db, opts.audit, { action: 'create', resourceType: 'Bulk$import', resourceId: jobId, purpose: `${opts.audit.purpose ? opts.audit.purpose + '; ' : ''}bulk import of ${sources.map((s) => s.name).join(', ')}`.slice(0, 500) });
  const imp = new Importer(opts, jobId, transactionTime);
  const size = opts.batchSize ?? 5000;
  try {
    await imp.init();
    // Batch N+1 is read and prepared while batch N's COPY runs; if N had to fall back to line-by-line writes,
    // N+1 is prepared again so that nothing refers to a row N did not keep.
    let pending: Promise<boolean> | null = null;
    const run = async (lines: Line[]) => {
      imp.newBatch();
      let prepared = await imp.prepare(lines);
      if (pending && !(await pending)) prepared = await imp.prepare(lines.map((l) => ({ ...l })));
      pending = imp.inflight = imp.commit(prepared);
      pending.catch(() => {}); // awaited below; an unhandled rejection meanwhile would end the process
    };
    let batch: Line[] = [];
    for (const src of sources) {
      let n = 0;
      for await (const text of src.lines) {
        n++;
        if (!text.trim()) continue;
        batch.push({ source: src.name, line: n, text });
        if (batch.length >= size) {
          await run(batch);
          batch = [];
        }
      }
    }
    if (batch.length) await run(batch);
    if (pending) await pending;
  } catch (err) {
    await setJob(opts.db, jobId, { status: 'failed', error: String((err as Error)?.message ?? err).slice(0, 500), result: { ...imp.summary, error: imp.summary.error.slice(0, 100) } }).catch(() => {});
    throw err;
  }
  return imp.finish();
}

/** Files in the order their kinds can be written (Encounter.ndjson before Observation.ndjson); unknown names last. */
export function orderFiles<T extends { type?: string | null }>(files: T[]): T[] {
  return [...files].sort((a, b) => rank(a.type ?? '') - rank(b.type ?? ''));
}

/**
 * The Bulk Data import manifest: a Parameters resource whose `input` parts name a `type` and a `url`. The server
 * fetches nothing from elsewhere: a url must be an output file of an export this user ran on this server.
 */
export async function importFromManifest(opts: ImportOptions, body: unknown): Promise<ImportSummary> {
  const p = body as Json;
  if (!p || typeof p !== 'object' || p.resourceType !== 'Parameters') throw new AppError('FHIR_INVALID', { path: 'resourceType', detail: 'expected Parameters (the import manifest) or an NDJSON body' }, 'resourceType');
  const inputs: { type: string | null; url: string; path: string }[] = [];
  const params = Array.isArray(p.parameter) ? p.parameter : [];
  for (const [i, prm] of params.entries()) {
    if (prm?.name === 'inputFormat' && prm.valueCode !== undefined && prm.valueCode !== 'application/fhir+ndjson' && prm.valueString !== 'application/fhir+ndjson') {
      throw new AppError('FHIR_UNSUPPORTED', { detail: 'inputFormat other than application/fhir+ndjson' }, `Parameters.parameter[${i}]`);
    }
    if (prm?.name !== 'input') continue;
    const parts: Json[] = Array.isArray(prm.part) ? prm.part : [];
    const url = parts.find((x) => x.name === 'url')?.valueUri ?? parts.find((x) => x.name === 'url')?.valueUrl;
    const type = parts.find((x) => x.name === 'type')?.valueCode ?? null;
    const m = typeof url === 'string' ? /\/\$export-file\/([0-9a-f-]{36})\/([A-Z][A-Za-z]+\.ndjson)$/.exec(url) : null;
    if (!m) throw new AppError('FHIR_UNSUPPORTED', { detail: 'an input url must be an output file of this server’s $export' }, `Parameters.parameter[${i}].part`);
    const job = await ownJob(opts.db, m[1], 'fhir-export', opts.principal.userId);
    if (job.status !== 'completed' || !(job.result?.output as Json[]).some((o) => `${o.type}.ndjson` === m[2])) throw new AppError('NOT_FOUND', { noun: 'resource', what: m[2] });
    inputs.push({ type: type ?? m[2].replace(/\.ndjson$/, ''), url, path: join(jobDir(opts.dataDir, m[1]), m[2]) });
  }
  if (!inputs.length) throw new AppError('FHIR_REQUIRED', { path: 'Parameters.parameter.input' }, 'Parameters.parameter');
  return importStream(opts, orderFiles(inputs).map((x) => ({ name: x.url.slice(x.url.lastIndexOf('/$export-file/') + 14), lines: fileLines(x.path) })));
}
