// Health-post sessions (健康驿站): a family-doctor team holds sessions at community health posts (seed 004: 114 teams),
// where residents come for follow-ups and checks. A session records the date, the post, the team and how many
// residents attended; the follow-ups (mode health_post) and elderly checks made there link to it.
//
// Contents: who may act · recording a session · listing · one session with its visits · a visit's link to a session
import type { Queryable, Row } from '../../db/engine.ts';
import { auditResidents } from '../../platform/audit.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { assertManage, teamRow, teamScopeSql, type Ctx } from './contracts.ts';
import { districtDate } from '../../platform/local-date.ts';

export interface SessionInput {
  teamId?: number;
  sessionDate: string;
  postName: string;
  location?: string | null;
  communityId?: number | null;
  attendees: number;
  staff?: number[];
  topic?: string | null;
  note?: string | null;
  sourceId?: string | null;
}

/** Sessions a caller may see, as SQL over health_post_session aliased s. */
function sessionScopeSql(p: Principal, v: Params): string {
  return teamScopeSql(p, v, 's.institution_id', 's.team_id');
}

const SELECT = `s.*, tm.name AS team_name, g.name AS community_name,
  (SELECT count(*)::int FROM chronic_follow_up f WHERE f.session_id = s.id) AS follow_ups,
  (SELECT count(*)::int FROM elderly_check ec WHERE ec.session_id = s.id) AS checks`;
const FROM = 'health_post_session s JOIN team tm ON tm.id = s.team_id LEFT JOIN region g ON g.id = s.community_id';

function toSession(r: Row) {
  return {
    id: Number(r.id), team: { id: Number(r.team_id), name: r.team_name as string }, institutionId: Number(r.institution_id), sessionDate: r.session_date as string,
    postName: r.post_name as string, location: r.location ?? null, community: r.community_id ? { id: Number(r.community_id), name: r.community_name as string } : null,
    attendees: Number(r.attendees), staff: (r.staff as (number | string)[]).map(Number), topic: r.topic ?? null, note: r.note ?? null,
    followUps: Number(r.follow_ups), checks: Number(r.checks), createdAt: new Date(r.created_at).toISOString(),
  };
}
export type Session = ReturnType<typeof toSession>;

async function sessionRow(q: Queryable, id: number): Promise<Row> {
  const { rows } = await q.query(`SELECT ${SELECT} FROM ${FROM} WHERE s.id = $1`, [id]);
  if (!rows[0]) throw Object.assign(notFound('session'), { field: 'sessionId' });
  return rows[0];
}

/** Records a session (idempotent on sourceId within the team's institution). */
export async function createSession(c: Ctx, input: SessionInput): Promise<{ session: Session; created: boolean }> {
  const p = c.principal;
  const teamId = input.teamId ?? p.teamId;
  if (!teamId) throw new AppError('VALIDATION_FAILED', { detail: { zh: '请指定团队', en: 'name the team' } }, 'teamId');
  const team = await teamRow(c.q, teamId, 'teamId');
  assertManage(p, team);
  if (input.sourceId) {
    const { rows } = await c.q.query(`SELECT ${SELECT} FROM ${FROM} WHERE s.institution_id = $1 AND s.source_id = $2`, [team.institution_id, input.sourceId]);
    if (rows[0]) return { session: toSession(rows[0]), created: false };
  }
  if (input.sessionDate > districtDate(Date.now() + 366 * 86_400_000)) throw new AppError('VALIDATION_FAILED', { detail: { zh: '日期过远', en: 'too far ahead' } }, 'sessionDate');
  if (input.communityId) {
    const { rows } = await c.q.query("SELECT level FROM region WHERE id = $1", [input.communityId]);
    if (rows[0]?.level !== 'community') throw new AppError('VALIDATION_FAILED', { detail: { zh: '不是社区', en: 'not a community' } }, 'communityId');
  }
  const staff = [...new Set(input.staff ?? [])];
  if (staff.length) {
    const { rows } = await c.q.query<{ n: number }>('SELECT count(*)::int AS n FROM team_member WHERE team_id = $1 AND practitioner_id = ANY($2::bigint[])', [teamId, staff]);
    if (rows[0].n !== staff.length) throw new AppError('VALIDATION_FAILED', { detail: { zh: '人员不属于该团队', en: 'a practitioner is not on the team' } }, 'staff');
  }
  const { rows } = await c.q.query(
    `INSERT INTO health_post_session (team_id, institution_id, session_date, post_name, location, community_id, attendees, staff, topic, note, source_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint[], $9, $10, $11, $12) RETURNING id`,
    [teamId, team.institution_id, input.sessionDate, input.postName, input.location ?? null, input.communityId ?? null, input.attendees, staff, input.topic ?? null, input.note ?? null, input.sourceId ?? null, p.userId || null],
  );
  return { session: toSession(await sessionRow(c.q, Number(rows[0].id))), created: true };
}

export interface SessionFilter { teamId?: number; institutionId?: number; from?: string; to?: string; page: number; pageSize: number }

/** Sessions newest first: a team member sees the team's, a centre's administrator the centre's, the district all. */
export async function listSessions(c: Ctx, f: SessionFilter) {
  const v = new Params();
  const where = [sessionScopeSql(c.principal, v)];
  if (f.teamId) where.push(`s.team_id = ${v.add(f.teamId)}`);
  if (f.institutionId) where.push(`s.institution_id = ${v.add(f.institutionId)}`);
  if (f.from) where.push(`s.session_date >= ${v.add(f.from)}::date`);
  if (f.to) where.push(`s.session_date <= ${v.add(f.to)}::date`);
  const w = where.join(' AND ');
  const countValues = [...v.values];
  const { rows } = await c.q.query(`SELECT ${SELECT} FROM ${FROM} WHERE ${w} ORDER BY s.session_date DESC, s.id DESC LIMIT ${v.add(f.pageSize)} OFFSET ${v.add((f.page - 1) * f.pageSize)}`, v.values);
  const total = await c.q.query<{ n: number }>(`SELECT count(*)::int AS n FROM health_post_session s WHERE ${w}`, countValues);
  return { items: rows.map(toSession), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

/** One session with the follow-ups and checks made at it (their residents audited as listed). */
export async function getSession(c: Ctx, id: number) {
  const row = await sessionRow(c.q, id);
  const v = new Params();
  const scope = sessionScopeSql(c.principal, v);
  const ok = await c.q.query(`SELECT ${scope} AS ok FROM health_post_session s WHERE s.id = ${v.add(id)}`, v.values);
  if (!ok.rows[0]?.ok) throw new AppError('FORBIDDEN');
  const { rows } = await c.q.query(
    `SELECT 'follow_up' AS kind, f.id, f.resident_id, r.name, f.visit_at AS at, f.programme_code AS programme, f.classification, f.danger AS urgent
       FROM chronic_follow_up f JOIN resident r ON r.id = f.resident_id WHERE f.session_id = $1
     UNION ALL
     SELECT 'elderly_check', ec.id, ec.resident_id, r.name, ec.created_at, NULL, NULL, ec.urgent
       FROM elderly_check ec JOIN resident r ON r.id = ec.resident_id WHERE ec.session_id = $1
     ORDER BY at, id`,
    [id],
  );
  await auditResidents(c.q, c.audit, 'list', [...new Set(rows.map((r) => Number(r.resident_id)))], 'HealthPostSession');
  return {
    ...toSession(row),
    visits: rows.map((r) => ({
      kind: r.kind as 'follow_up' | 'elderly_check', id: Number(r.id), resident: { id: Number(r.resident_id), name: r.name as string }, at: new Date(r.at).toISOString(),
      programme: r.programme ?? null, classification: r.classification ?? null, urgent: !!r.urgent,
    })),
  };
}

/**
 * A visit recorded at a session: the session is the recording institution's, the visit is on its date (Beijing), and
 * a follow-up's mode is health_post.
 */
export async function assertSessionVisit(q: Queryable, sessionId: number, visit: { institutionId: number; mode?: string; at: Date }) {
  const { rows } = await q.query('SELECT institution_id, session_date FROM health_post_session WHERE id = $1', [sessionId]);
  if (!rows[0]) throw Object.assign(notFound('session'), { field: 'sessionId' });
  if (visit.mode !== undefined && visit.mode !== 'health_post') throw new AppError('VALIDATION_FAILED', { detail: { zh: '健康驿站随访的方式应为 health_post', en: 'a visit at a health-post session has mode health_post' } }, 'mode');
  if (Number(rows[0].institution_id) !== visit.institutionId) throw Object.assign(new AppError('FORBIDDEN'), { field: 'sessionId' });
  if (rows[0].session_date !== districtDate(visit.at)) {
    throw new AppError('VALIDATION_FAILED', { detail: { zh: `驿站活动日期为 ${rows[0].session_date}`, en: `the session was on ${rows[0].session_date}` } }, 'sessionId');
  }
}
