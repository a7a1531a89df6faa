// Two-way referral KPIs (双向转诊指标) per month and per institution or consortium, computed from the cases and slots:
//   up / down             cases by direction (an institution counts what it sent and what it received)
//   acceptance time       median hours from request to the receiving side's answer (accepted or scheduled)
//   reserved slots        primary-care places of the month's sessions: used by primary care, released, still free
//   no-show rate          scheduled cases that ended as no-shows / scheduled cases
//   loop-closure rate     upward cases closed with a returned summary / upward cases completed (闭环率)
//   down follow-up        downward cases followed up by their due date / downward cases due by now (or followed up)
// Months are Beijing calendar months of the request (slots: of the session). Rates are null when the base is 0.
import ExcelJS from 'exceljs';
import type { Queryable } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';

export interface KpiFilter {
  /** YYYY-MM, inclusive */
  from: string;
  to: string;
  groupBy: 'institution' | 'consortium';
  institutionId?: number;
  consortiumId?: number;
}

export interface KpiRow {
  month: string;
  unitId: number;
  unitName: string;
  upSent: number;
  upReceived: number;
  downSent: number;
  downReceived: number;
  answered: number;
  medianAcceptanceHours: number | null;
  reservedSlots: number;
  reservedUsed: number;
  reservedReleased: number;
  reservedUsedRate: number | null;
  reservedReleasedRate: number | null;
  scheduled: number;
  noShows: number;
  noShowRate: number | null;
  completedUp: number;
  closedUp: number;
  loopClosureRate: number | null;
  downDue: number;
  downInTime: number;
  downInTimeRate: number | null;
}

const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null);

/** Which institutions the caller may see figures of: the district admin all, an institution admin their own. */
function unitLimit(p: Principal): number | null {
  if (hasRole(p, 'district_admin') && p.tokenInstitutionId === null) return null;
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (!hasRole(p, 'institution_admin', 'referral_desk') || own === null) throw new AppError('FORBIDDEN');
  return own;
}

export async function referralKpis(q: Queryable, p: Principal, f: KpiFilter): Promise<KpiRow[]> {
  const limit = unitLimit(p);
  if (limit !== null && f.groupBy === 'consortium') throw new AppError('FORBIDDEN');
  if (f.to < f.from) throw new AppError('VALIDATION_FAILED', { detail: 'to is before from' }, 'to');
  const start = `${f.from}-01T00:00:00+08:00`;
  const [y, m] = f.to.split('-').map(Number);
  const end = `${m === 12 ? y + 1 : y}-${String(m === 12 ? 1 : m + 1).padStart(2, '0')}-01T00:00:00+08:00`;
  // unit membership: an institution is its own unit; a consortium's units are its member institutions
  const params = new Params();
  const startP = params.add(start), endP = params.add(end);
  const cond: string[] = [];
  if (limit !== null) cond.push(`i.id = ${params.add(limit)}`);
  if (f.groupBy === 'institution' && f.institutionId) cond.push(`i.id = ${params.add(f.institutionId)}`);
  if (f.groupBy === 'consortium' && f.consortiumId) cond.push(`c.id = ${params.add(f.consortiumId)}`);
  const where = cond.length ? `WHERE ${cond.join(' AND ')}` : '';
  const units = f.groupBy === 'institution'
    ? `SELECT i.id AS unit_id, i.name AS unit_name, i.id AS institution_id FROM institution i ${where}`
    : `SELECT c.id AS unit_id, c.name AS unit_name, cm.institution_id FROM consortium c JOIN consortium_member cm ON cm.consortium_id = c.id ${where}`;
  const { rows } = await q.query(
    `WITH u AS (${units}),
     cases AS (
       SELECT to_char(f.requested_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, f.*
         FROM referral f WHERE f.requested_at >= ${startP}::timestamptz AND f.requested_at < ${endP}::timestamptz
     ),
     -- each case counts once per unit on each side it touches (a consortium's internal case is sent and received by it)
     sides AS (
       SELECT u.unit_id, u.unit_name, c.*, 'source' AS side FROM cases c JOIN u ON u.institution_id = c.source_institution_id
       UNION ALL
       SELECT u.unit_id, u.unit_name, c.*, 'target' FROM cases c JOIN u ON u.institution_id = c.target_institution_id
     ),
     case_kpis AS (
       SELECT month, unit_id, unit_name,
              count(*) FILTER (WHERE direction = 'up' AND side = 'source')::int AS up_sent,
              count(*) FILTER (WHERE direction = 'up' AND side = 'target')::int AS up_received,
              count(*) FILTER (WHERE direction = 'down' AND side = 'source')::int AS down_sent,
              count(*) FILTER (WHERE direction = 'down' AND side = 'target')::int AS down_received,
              -- acceptance, scheduling, no-shows and the loop are the receiving hospital's (upward cases)
              count(*) FILTER (WHERE direction = 'up' AND side = 'target' AND responded_at IS NOT NULL AND state NOT IN ('rejected', 'redirected'))::int AS answered,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - requested_at) / 3600)
                FILTER (WHERE direction = 'up' AND side = 'target' AND responded_at IS NOT NULL AND state NOT IN ('rejected', 'redirected')) AS median_hours,
              count(*) FILTER (WHERE direction = 'up' AND side = 'target' AND scheduled_at IS NOT NULL)::int AS scheduled,
              count(*) FILTER (WHERE direction = 'up' AND side = 'target' AND state = 'expired' AND state_reason = 'no_show')::int AS no_shows,
              count(*) FILTER (WHERE direction = 'up' AND side = 'target' AND completed_at IS NOT NULL)::int AS completed_up,
              count(*) FILTER (WHERE direction = 'up' AND side = 'target' AND closed_at IS NOT NULL AND result_summary IS NOT NULL)::int AS closed_up,
              -- the follow-up of a downward case is the receiving community team's
              count(*) FILTER (WHERE direction = 'down' AND side = 'target' AND (follow_up_due_at <= now() OR followed_up_at IS NOT NULL))::int AS down_due,
              count(*) FILTER (WHERE direction = 'down' AND side = 'target' AND followed_up_at <= follow_up_due_at)::int AS down_in_time
         FROM sides GROUP BY month, unit_id, unit_name
     ),
     slot_kpis AS (
       SELECT to_char(s.start_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, u.unit_id, u.unit_name,
              count(*)::int AS reserved_slots,
              count(*) FILTER (WHERE s.released_at IS NULL AND s.status IN ('busy', 'busy-tentative'))::int AS reserved_used,
              count(*) FILTER (WHERE s.released_at IS NOT NULL)::int AS reserved_released
         FROM slot s JOIN u ON u.institution_id = s.institution_id
        WHERE s.reserved_for IS NOT NULL AND s.start_at >= ${startP}::timestamptz AND s.start_at < ${endP}::timestamptz
        GROUP BY 1, 2, 3
     )
     SELECT coalesce(c.month, s.month) AS month, coalesce(c.unit_id, s.unit_id) AS unit_id, coalesce(c.unit_name, s.unit_name) AS unit_name,
            coalesce(c.up_sent, 0) AS up_sent, coalesce(c.up_received, 0) AS up_received, coalesce(c.down_sent, 0) AS down_sent, coalesce(c.down_received, 0) AS down_received,
            coalesce(c.answered, 0) AS answered, c.median_hours, coalesce(s.reserved_slots, 0) AS reserved_slots, coalesce(s.reserved_used, 0) AS reserved_used,
            coalesce(s.reserved_released, 0) AS reserved_released, coalesce(c.scheduled, 0) AS scheduled, coalesce(c.no_shows, 0) AS no_shows,
            coalesce(c.completed_up, 0) AS completed_up, coalesce(c.closed_up, 0) AS closed_up, coalesce(c.down_due, 0) AS down_due, coalesce(c.down_in_time, 0) AS down_in_time
       FROM case_kpis c FULL JOIN slot_kpis s ON s.month = c.month AND s.unit_id = c.unit_id
      ORDER BY 1, 3, 2`,
    params.values,
  );
  return rows.map((r) => ({
    month: r.month, unitId: Number(r.unit_id), unitName: r.unit_name,
    upSent: r.up_sent, upReceived: r.up_received, downSent: r.down_sent, downReceived: r.down_received,
    answered: r.answered, medianAcceptanceHours: r.median_hours === null ? null : Math.round(Number(r.median_hours) * 100) / 100,
    reservedSlots: r.reserved_slots, reservedUsed: r.reserved_used, reservedReleased: r.reserved_released,
    reservedUsedRate: rate(r.reserved_used, r.reserved_slots), reservedReleasedRate: rate(r.reserved_released, r.reserved_slots),
    scheduled: r.scheduled, noShows: r.no_shows, noShowRate: rate(r.no_shows, r.scheduled),
    completedUp: r.completed_up, closedUp: r.closed_up, loopClosureRate: rate(r.closed_up, r.completed_up),
    downDue: r.down_due, downInTime: r.down_in_time, downInTimeRate: rate(r.down_in_time, r.down_due),
  }));
}

/** Column headers of the export, Chinese first (the console's default), English below in a second header row. */
const COLUMNS: [keyof KpiRow, string, string, 'int' | 'pct' | 'num' | 'text'][] = [
  ['month', '月份', 'Month', 'text'], ['unitName', '机构/医联体', 'Institution / consortium', 'text'],
  ['upSent', '上转转出', 'Up: sent', 'int'], ['upReceived', '上转接收', 'Up: received', 'int'], ['downSent', '下转转出', 'Down: sent', 'int'], ['downReceived', '下转接收', 'Down: received', 'int'],
  ['medianAcceptanceHours', '接收时长中位数(小时)', 'Median acceptance (h)', 'num'],
  ['reservedSlots', '预留号源', 'Reserved slots', 'int'], ['reservedUsedRate', '预留号源使用率', 'Reserved used', 'pct'], ['reservedReleasedRate', '预留号源释放率', 'Reserved released', 'pct'],
  ['noShowRate', '爽约率', 'No-show rate', 'pct'], ['loopClosureRate', '上转闭环率', 'Loop closure', 'pct'], ['downInTimeRate', '下转按时随访率', 'Down followed up in time', 'pct'],
];

export async function kpiWorkbook(rows: KpiRow[], title: string): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'CareGrid';
  const ws = wb.addWorksheet('双向转诊指标', { views: [{ state: 'frozen', ySplit: 3 }] });
  ws.addRow([title]).font = { bold: true, size: 13 };
  ws.addRow(COLUMNS.map((c) => c[1])).font = { bold: true };
  ws.addRow(COLUMNS.map((c) => c[2])).font = { italic: true, color: { argb: 'FF666666' } };
  ws.columns = COLUMNS.map((c) => ({ width: c[0] === 'unitName' ? 28 : 14 }));
  for (const r of rows) {
    const row = ws.addRow(COLUMNS.map(([k]) => r[k]));
    COLUMNS.forEach(([, , , t], i) => {
      if (t === 'pct') row.getCell(i + 1).numFmt = '0.0%';
      if (t === 'num') row.getCell(i + 1).numFmt = '0.00';
    });
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
