// A family doctor's worklist for a day (工作清单): the open chronic-disease tasks of the team — follow-ups due that day
// or overdue, new enrolments, danger values from any institution, discharges to follow (including downward referrals'
// follow-ups) — and the team's contracts due for renewal, with the resident's last readings and medications
// pre-filled for the follow-up form. Urgent work first, then overdue, then by due date. Elderly residents due for
// their annual health check are computed from their ages (modules/elderly), not stored as tasks; each task shows how
// far an overdue one has been escalated (modules/chronic/escalation.ts).
import type { Db, Row } from '../../db/engine.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { auditCte } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { hasRole } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { ageOn } from '../residents/service.ts';
import { LEAD_EXTENSION, TASK_CODES } from '../chronic/fusion.ts';
import { lastReadingsAndMedications, type Medication, type Readings } from '../chronic/readings.ts';
import { settings } from '../chronic/programmes.ts';
import type { Ctx } from './contracts.ts';
import { ELDERLY_CHECK_TASK } from '../chronic/escalation.ts';
import { currentCheckRules, dueChecksSql } from '../elderly/checks.ts';
import { districtDate } from '../../platform/local-date.ts';

/**
 * The settings of the worklist's transaction (`db.tx(fn, { settings: WORKLIST_SETTINGS })`, sent with its BEGIN). The
 * planner, seeing the resident scope's OR, may rather join in resident order (a merge join over every resident of the
 * district) than follow the summary's owner indexes — so hash and merge joins are off; so are JIT (compiling the
 * union's expressions cost more than running it) and parallel workers (a few thousand rows: starting workers costs
 * more than it saves, and the cores serve other requests).
 */
export const WORKLIST_SETTINGS = { enable_hashjoin: 'off', enable_mergejoin: 'off', jit: 'off', max_parallel_workers_per_gather: '0' } as const;

/** The count of a worklist stops here (as the referral inbox's): `total` is then the cap and `totalCapped` true. */
export const COUNT_CAP = 10_000;

export const WORK_KINDS = ['follow_up', 'enrolment', 'danger', 'discharge', 'renewal', 'elderly_check', 'check_follow_up'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];
const KIND_OF_CODE: Record<string, WorkKind> = { [TASK_CODES.followUp]: 'follow_up', [TASK_CODES.enrolment]: 'enrolment', [TASK_CODES.danger]: 'danger', [TASK_CODES.discharge]: 'discharge', [ELDERLY_CHECK_TASK]: 'check_follow_up' };
const CODE_OF_KIND = Object.fromEntries(Object.entries(KIND_OF_CODE).map(([c, k]) => [k, c])) as Record<WorkKind, string>;

export interface WorklistFilter {
  date?: string;
  teamId?: number;
  gridId?: number;
  programme?: string;
  priority?: 'urgent' | 'routine';
  kind?: WorkKind;
  /** Only tasks escalated to at least this level (1: the team lead, 2: the centre's administrator). */
  escalation?: 1 | 2;
  page: number;
  pageSize: number;
}

/** Beijing midnight starting `date` (YYYY-MM-DD), and the next. */
function dayBounds(date: string): [Date, Date] {
  const start = new Date(`${date}T00:00:00+08:00`);
  return [start, new Date(start.getTime() + 86_400_000)];
}

export async function worklist(c: Ctx, f: WorklistFilter) {
  const p = c.principal;
  const s = await settings(c.q);
  const date = f.date ?? districtDate();
  const [dayStart, dayEnd] = dayBounds(date);
  if (Number.isNaN(dayStart.getTime())) throw new AppError('VALIDATION_FAILED', { detail: 'date' }, 'date');
  const v = new Params();
  // Everything but the elderly leads comes from the worklist summary (worklist_item, kept by triggers with the tasks,
  // contracts, residents, enrolments and checks it copies: migration 0017), one row per open task and per contract in
  // force carrying its resident's grid, programmes, status, birth date and check years — so each part is a range of
  // its owner index, with no probe of the resident's other tables. Whose work: a team member's team (and the centre's
  // contracting leads in the team's grids), a centre's teams, all. `owner` is a predicate over the summary row w;
  // parameters are added where they are used, so a part left out of the query adds none.
  let owner: () => string;
  let leadTasks: { owner: () => string; grids: () => string } | null = null;
  let leadGrids: (() => string) | null;
  // the same grids over the summary's contract rows (wc), when the leads are some grids
  let leadContracts: (() => string) | undefined;
  // whether the lead parts' grid predicate implies the caller's resident scope (a team member's scope holds the
  // team's grids), so their rows need no scope check of their own
  let leadsInScope = false;
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (hasRole(p, 'district_admin')) {
    owner = () => (f.teamId ? `w.team_id = ${v.add(f.teamId)}` : 'TRUE');
    leadGrids = f.teamId ? null : () => 'TRUE';
  } else if (hasRole(p, 'family_doctor', 'nurse') && p.teamId) {
    if (f.teamId && f.teamId !== p.teamId) throw new AppError('FORBIDDEN');
    const teamId = p.teamId;
    const teamGrids = (alias: string) => () => `${alias}.grid_id IN (SELECT tg.grid_id FROM team_grid tg WHERE tg.team_id = ${v.add(teamId)})`;
    owner = () => `w.team_id = ${v.add(teamId)}`;
    if (own) leadTasks = { owner: () => `w.team_id IS NULL AND w.institution_id = ${v.add(own)}::bigint`, grids: teamGrids('w') };
    leadGrids = teamGrids('r');
    leadContracts = teamGrids('wc');
    leadsInScope = p.scope.all || p.scope.teamIds.includes(teamId);
  } else if (hasRole(p, 'institution_admin') && own) {
    owner = () => `w.institution_id = ${v.add(own)}${f.teamId ? ` AND w.team_id = ${v.add(f.teamId)}` : ''}`;
    const centreGrids = (alias: string) => () => `${alias}.grid_id IN (SELECT tg.grid_id FROM team_grid tg JOIN team tm ON tm.id = tg.team_id WHERE tm.institution_id = ${v.add(own)})`;
    leadGrids = f.teamId ? null : centreGrids('r');
    leadContracts = centreGrids('wc');
  } else throw new AppError('FORBIDDEN');
  // the caller's filters (and the resident scope unless `scoped`) over the summary row w or the resident r
  const filterSql = (alias: 'w' | 'r', scoped: boolean) => () => {
    const parts = scoped ? ['TRUE'] : [alias === 'w' ? residentScopeSql(p, v, 'w', 'resident_id') : residentScopeSql(p, v, 'r')];
    if (f.gridId) parts.push(`${alias}.grid_id = ${v.add(f.gridId)}`);
    if (f.programme) {
      parts.push(alias === 'w' ? `${v.add(f.programme)}::text = ANY(w.programmes)`
        : `EXISTS (SELECT 1 FROM chronic_enrolment e WHERE e.resident_id = r.id AND e.status = 'active' AND e.programme_code = ${v.add(f.programme)})`);
    }
    return parts.join(' AND ');
  };
  const itemFilter = filterSql('w', false);
  const codes = f.kind ? (CODE_OF_KIND[f.kind] ? [CODE_OF_KIND[f.kind]] : []) : Object.keys(KIND_OF_CODE);
  const parts: string[] = [];
  // scheduled follow-ups appear from their due day; new enrolments, danger values and discharges at once. The task's
  // own columns (status, description, focus, source) are joined for the page's rows only.
  if (codes.length) {
    const taskWhere = () => `w.kind = 'task' AND w.code = ANY(${v.add(codes)}::text[])
       AND (w.code <> '${TASK_CODES.followUp}' OR w.due_at < ${v.add(dayEnd)}::timestamptz)
       ${f.priority ? `AND (w.priority IN ('urgent', 'asap', 'stat')) = ${f.priority === 'urgent' ? 'TRUE' : 'FALSE'}` : ''}
       ${f.escalation ? `AND EXISTS (SELECT 1 FROM task_escalation te WHERE te.task_id = w.ref_id AND te.level >= ${v.add(f.escalation)}::int)` : ''}`;
    const tasks = (where: string) => `SELECT 'task' AS src, w.ref_id AS id, w.code, w.priority, NULL::text AS status, w.due_at, NULL::text AS description, w.resident_id,
        NULL::bigint AS source_institution_id, NULL::text AS focus_type, NULL::bigint AS focus_id, w.team_id AS owner_team_id, NULL::jsonb AS extra, NULL::date AS end_date, NULL::bigint AS contract_id
      FROM worklist_item w WHERE ${where}`;
    parts.push(tasks(`${taskWhere()} AND ${owner()} AND ${itemFilter()}`));
    // the centre's contracting-lead tasks (no team) of the residents in the team's grids
    if (leadTasks) parts.push(tasks(`${taskWhere()} AND ${leadTasks.owner()} AND ${leadTasks.grids()} AND ${filterSql('w', leadsInScope)()}`));
  }
  let due: ReturnType<typeof dueChecksSql> | null = null;
  if ((!f.kind || f.kind === 'elderly_check') && f.priority !== 'urgent' && !f.escalation) {
    const { rules } = await currentCheckRules(c.q);
    due = dueChecksSql(v, { day: date, ageFrom: rules.ageFrom, contracted: owner, contractedFilter: itemFilter, leads: leadGrids, leadFilter: filterSql('r', leadsInScope), leadContracts });
  }
  if ((!f.kind || f.kind === 'renewal') && f.priority !== 'urgent' && !f.escalation) {
    const day = `(${v.add(dayStart)}::timestamptz AT TIME ZONE 'Asia/Shanghai')::date`;
    const notice = v.add(s.renewalNoticeDays);
    // a contract row's due time is the Beijing midnight after its last day, so the end-date window is also a range of
    // the team's index on due time
    parts.push(`SELECT 'contract' AS src, NULL::bigint AS id, 'contract-renewal' AS code, 'routine' AS priority, 'active' AS status, w.due_at,
        NULL::text AS description, w.resident_id, w.institution_id AS source_institution_id, 'Contract' AS focus_type, w.ref_id AS focus_id, w.team_id AS owner_team_id,
        NULL::jsonb AS extra, w.end_date, w.ref_id AS contract_id
      FROM worklist_item w
     WHERE w.kind = 'contract' AND w.end_date >= ${day} AND w.end_date < ${day} + ${notice}::int
       AND w.due_at >= (${day} + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' AND w.due_at < (${day} + ${notice}::int + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
       AND ${owner()} AND ${itemFilter()}`);
  }
  if (!parts.length && !due) return { date, items: [], total: 0, totalCapped: false, page: f.page, pageSize: f.pageSize };
  const startP = v.add(dayStart);
  // the resident last: the elderly due for their check have neither a task nor a contract id, so pages stay disjoint
  const order = `(w.priority IN ('urgent', 'asap', 'stat')) DESC, (w.due_at < ${startP}::timestamptz) DESC, w.due_at NULLS LAST, w.id NULLS LAST, w.contract_id, w.resident_id`;
  // Each part is a range of an owner index of the summary (the team's rows, the centre's lead tasks) except the
  // elderly leads (the residents of the team's grids by age, from an index alone); the caller runs this in a
  // transaction with WORKLIST_SETTINGS.
  // One statement: the tasks and renewals (w) and the elderly due for their check (e) materialised once each, the page
  // from them with the tasks' own columns and the names joined for its rows only, the count (capped, as the referral
  // inbox's), and the audit of the residents shown.
  // The elderly due are most of a team's list (1,850 of 3,100 rows for a team of 3,400 contracts) and all sort alike —
  // routine, due at the year's end, no task or contract id — so they form one block of the order, by resident: they
  // are kept narrow (resident, team, lead) and not sorted with the rest. A sentinel row with their keys, sorted with
  // the first rows of w, tells where the block starts (p: the rows of w before it); a row of w after it is shifted by
  // the block's size, and the block's rows take the positions after p in resident order.
  const end = v.add((f.page - 1) * f.pageSize + f.pageSize);
  const offset = v.add((f.page - 1) * f.pageSize);
  const columns = `src, id, code, priority, status, due_at, description, resident_id, source_institution_id, focus_type, focus_id, owner_team_id, extra, end_date, contract_id`;
  const none = (src: string, dueAt: string) => `SELECT ${src}::text AS src, NULL::bigint AS id, NULL::text AS code, 'routine'::text AS priority, NULL::text AS status, ${dueAt}::timestamptz AS due_at,
      NULL::text AS description, NULL::bigint AS resident_id, NULL::bigint AS source_institution_id, NULL::text AS focus_type, NULL::bigint AS focus_id, NULL::bigint AS owner_team_id,
      NULL::jsonb AS extra, NULL::date AS end_date, NULL::bigint AS contract_id`;
  const sentinel = due ? `UNION ALL ${none("'sentinel'", due.dueAt)}` : '';
  const { rows } = await c.q.query(
    `WITH w AS MATERIALIZED (${parts.length ? parts.join('\n UNION ALL \n') : `${none('NULL', 'NULL')} WHERE FALSE`}),
     e AS MATERIALIZED (${due ? due.sql : 'SELECT NULL::bigint AS resident_id, NULL::bigint AS owner_team_id, FALSE AS lead WHERE FALSE'}),
     ne AS (SELECT count(*)::int AS n FROM e),
     ws AS (SELECT w.*, row_number() OVER (ORDER BY ${order}) AS rn
              FROM (SELECT * FROM (SELECT ${columns} FROM w ${sentinel}) w ORDER BY ${order} LIMIT ${end}::int + 1) w),
     b AS (SELECT coalesce((SELECT rn - 1 FROM ws WHERE src = 'sentinel'), ${end}::int + 1) AS p),
     ranked AS (
       SELECT ws.${columns.split(', ').join(', ws.')}, CASE WHEN ws.rn <= b.p THEN ws.rn ELSE ws.rn - 1 + ne.n END AS pos FROM ws, b, ne WHERE ws.src IS DISTINCT FROM 'sentinel'
       ${due ? `UNION ALL
       SELECT ${due.columns('e')}, b.p + e.re AS pos
         FROM (SELECT e.*, row_number() OVER (ORDER BY e.resident_id) AS re FROM (SELECT * FROM e ORDER BY e.resident_id LIMIT ${end}::int) e) e, b
        WHERE b.p + e.re <= ${end}::int` : ''}),
     page AS (
       SELECT w.pos, w.src, w.id, w.code, w.priority, coalesce(t.status, w.status) AS status, w.due_at, coalesce(t.description, w.description) AS description, w.resident_id,
              coalesce(t.institution_id, w.source_institution_id) AS source_institution_id, coalesce(t.focus_type, w.focus_type) AS focus_type,
              coalesce(t.focus_id, w.focus_id) AS focus_id, w.owner_team_id, coalesce(t.extra, w.extra) AS extra, w.end_date, w.contract_id,
              rr.name, rr.sex, rr.birth_date, rr.grid_id, g.name AS grid_name, i.name AS source_name, tm.name AS team_name,
              (SELECT array_agg(e.programme_code ORDER BY e.programme_code) FROM chronic_enrolment e WHERE e.resident_id = w.resident_id AND e.status = 'active') AS programmes,
              esc.level AS escalation_level, esc.escalated_at,
              (SELECT sum(CASE cl.kind WHEN 'redeem' THEN -cl.count ELSE cl.count END) FROM coupon_ledger cl WHERE cl.resident_id = w.resident_id AND cl.year = ${v.add(Number(date.slice(0, 4)))}::int) AS coupon_balance
         FROM (SELECT * FROM ranked WHERE pos > ${offset}::int AND pos <= ${end}::int) w
         LEFT JOIN task t ON w.src = 'task' AND t.id = w.id
         JOIN resident rr ON rr.id = w.resident_id LEFT JOIN region g ON g.id = rr.grid_id
         LEFT JOIN LATERAL (SELECT te.level, te.escalated_at FROM task_escalation te WHERE w.src = 'task' AND te.task_id = w.id ORDER BY te.level DESC LIMIT 1) esc ON TRUE
         LEFT JOIN institution i ON i.id = coalesce(t.institution_id, w.source_institution_id) LEFT JOIN team tm ON tm.id = w.owner_team_id),
     shown AS (SELECT DISTINCT resident_id AS id FROM page),
     au AS (${auditCte(v, c.audit, 'list', 'shown', 'Worklist')})
     SELECT n.total_n, w.* FROM (SELECT least((SELECT count(*) FROM (SELECT 1 FROM w LIMIT ${COUNT_CAP + 1}) x) + ne.n, ${COUNT_CAP + 1})::int AS total_n FROM ne) n
       LEFT JOIN page w ON TRUE
      ORDER BY w.pos`,
    v.values,
  );
  const n = Number(rows[0].total_n);
  const page = rows.filter((r) => r.src !== null);
  const residentIds = [...new Set(page.map((r) => Number(r.resident_id)))];
  const { readings, medications: meds } = await lastReadingsAndMedications(c.q, residentIds);
  return {
    date,
    items: page.map((r) => item(r, dayStart, readings.get(Number(r.resident_id)) ?? null, meds.get(Number(r.resident_id)) ?? [])),
    total: Math.min(n, COUNT_CAP), totalCapped: n > COUNT_CAP, page: f.page, pageSize: f.pageSize,
  };
}

/**
 * Runs a bulk load into the summary's sources (tasks, contracts, enrolments, checks, residents) with the summary's
 * triggers off, then rebuilds the whole summary in one statement (as the seed does): one pass instead of a rebuild of
 * each COPY chunk's residents. Not for a server in service — the triggers are off for every session meanwhile.
 */
export async function withWorklistDeferred<T>(db: Db, load: () => Promise<T>): Promise<T> {
  const { rows } = await db.query<{ tbl: string; name: string }>(
    `SELECT c.relname AS tbl, t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE t.tgname LIKE 'worklist\\_%' AND c.relnamespace = current_schema()::regnamespace ORDER BY 1, 2`,
  );
  const toggle = (on: boolean) => Promise.all(rows.map((r) => db.exec(`ALTER TABLE "${r.tbl}" ${on ? 'ENABLE' : 'DISABLE'} TRIGGER "${r.name}"`)));
  await toggle(false);
  try {
    const out = await load();
    await db.exec('SELECT worklist_rebuild()');
    return out;
  } finally {
    await toggle(true);
  }
}

function item(r: Row, dayStart: Date, readings: Readings | null, medications: Medication[]) {
  const kind: WorkKind = r.src === 'contract' ? 'renewal' : r.src === 'elderly' ? 'elderly_check' : KIND_OF_CODE[r.code];
  const due = r.due_at ? new Date(r.due_at) : null;
  const lead = Array.isArray(r.extra?.extension) && r.extra.extension.some((x: { url?: string }) => x.url === LEAD_EXTENSION);
  return {
    kind, taskId: r.src === 'task' ? Number(r.id) : null, contractId: r.contract_id === null ? null : Number(r.contract_id),
    priority: (r.priority ?? 'routine') as string, status: r.status as string, dueAt: due ? due.toISOString() : null, overdue: !!due && due < dayStart,
    description: r.description ?? null, focus: r.focus_type && r.focus_id ? `${r.focus_type}/${r.focus_id}` : null,
    programmes: (r.programmes ?? []) as string[], contractingLead: lead,
    team: r.owner_team_id ? { id: Number(r.owner_team_id), name: r.team_name as string } : null,
    source: r.source_institution_id ? { institutionId: Number(r.source_institution_id), institutionName: r.source_name as string } : null,
    contractEndDate: r.end_date ?? null,
    escalationLevel: r.escalation_level === null || r.escalation_level === undefined ? 0 : Number(r.escalation_level),
    escalatedAt: r.escalated_at ? new Date(r.escalated_at).toISOString() : null,
    resident: { id: Number(r.resident_id), name: r.name as string, sex: r.sex as string, age: ageOn(r.birth_date), gridId: r.grid_id === null ? null : Number(r.grid_id), gridName: r.grid_name ?? null },
    lastReadings: readings, medications, couponBalance: r.coupon_balance === null ? null : Number(r.coupon_balance),
  };
}
