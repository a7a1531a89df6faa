// Residents of a family-doctor team made ready for chronic-disease tests through the public API: contracted, enrolled
// by a diagnosis, followed up (controlled or not), with a long prescription when asked.
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestServer } from './server.ts';

type Json = Record<string, any>;
const DAY = 86_400_000;

export interface ChronicHelper {
  /** A resident of the team's grids with no contract and no enrolment yet (each call a new one). */
  nextResident(): number;
  /** One of the team's grids. */
  gridId: number;
  /** Contracted to the team (unless contract: false), enrolled with `code`, followed up `daysAgo` days ago. */
  managed(opts?: { residentId?: number; contract?: boolean; code?: string; followUp?: 'controlled' | 'uncontrolled' | null; daysAgo?: number }): Promise<{ residentId: number; enrolmentId: number }>;
  /** A managed, controlled resident (the one given, else the next) with an active long prescription of one drug. */
  withPrescription(residentId?: number): Promise<{ residentId: number; prescription: Json }>;
  post(url: string, payload: unknown, cookie?: string): Promise<LightMyRequestResponse>;
  get(url: string, cookie?: string): Promise<LightMyRequestResponse>;
}

export async function chronicHelper(s: TestServer, doctor: string, username = 'doctor1'): Promise<ChronicHelper & { teamId: number }> {
  const db = s.started.ctx.db;
  const { rows: u } = await db.query('SELECT team_id FROM app_user WHERE username = $1', [username]);
  const teamId = Number(u[0].team_id);
  const { rows } = await db.query(
    `SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id
      WHERE tg.team_id = $1 AND r.status = 'active' AND r.address IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM contract c WHERE c.resident_id = r.id) AND NOT EXISTS (SELECT 1 FROM chronic_enrolment e WHERE e.resident_id = r.id)
      ORDER BY r.id DESC`,
    [teamId],
  );
  const free = rows.map((r) => Number(r.id));
  const grid = await db.query('SELECT grid_id FROM team_grid WHERE team_id = $1 ORDER BY grid_id LIMIT 1', [teamId]);
  const post = (url: string, payload: unknown, cookie = doctor) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
  const get = (url: string, cookie = doctor) => s.app.inject({ url, headers: { cookie } });
  const h: ChronicHelper & { teamId: number } = {
    teamId,
    gridId: Number(grid.rows[0].grid_id),
    post,
    get,
    nextResident() {
      const id = free.shift();
      if (id === undefined) throw new Error('no free resident left in the team’s grids');
      return id;
    },
    async managed(opts = {}) {
      const residentId = opts.residentId ?? h.nextResident();
      if (opts.contract !== false) {
        const c = await post('/api/v1/contracts', { residentId, teamId, packages: ['basic', 'chronic'], consent: { method: 'written', signedBy: 'self' } });
        expect(c.statusCode, c.body).toBe(201);
      }
      const e = await post('/api/v1/chronic/enrolments', { residentId, code: opts.code ?? 'I10' });
      expect(e.statusCode, e.body).toBe(201);
      const enrolmentId = e.json().enrolments[0].id as number;
      const kind = opts.followUp === undefined ? 'controlled' : opts.followUp;
      if (kind) {
        const diabetes = (opts.code ?? 'I10').startsWith('E11');
        const reading = diabetes ? { fpg: kind === 'controlled' ? 6.1 : 8.2 } : kind === 'controlled' ? { sbp: 128, dbp: 78 } : { sbp: 152, dbp: 96 };
        const visitAt = new Date(Date.now() - (opts.daysAgo ?? 0) * DAY - 60_000).toISOString();
        const f = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'clinic', visitAt, ...reading });
        expect(f.statusCode, f.body).toBe(201);
        expect(f.json().classification).toBe(kind);
      }
      return { residentId, enrolmentId };
    },
    async withPrescription(given?: number) {
      const { residentId } = await h.managed({ residentId: given });
      const r = await post('/api/v1/chronic/prescriptions', { kind: 'long', residentId, programme: 'hypertension', weeks: 12, items: [{ name: '氨氯地平片', code: 'AMLO5', dosage: '5mg qd', quantity: 84, unit: '片' }] });
      expect(r.statusCode, r.body).toBe(201);
      return { residentId, prescription: r.json() };
    },
  };
  return h;
}
