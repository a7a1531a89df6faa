// Specialist slot pools of the synthetic district: the tertiary and secondary hospitals publish half-day sessions of
// a few departments for the next two weeks (weekdays), 30% of each session reserved for referrals from primary care
// (seed 001) and released 48 hours ahead. Dates follow the day of seeding, so a fresh demo always has free slots in
// the coming weeks; everything else is fixed by the district.
import type { Queryable } from '../db/engine.ts';
import { insertSlots, planSlots, type SlotPlan } from '../modules/referral/service.ts';
import { DEFAULT_RELEASE_HOURS, DEFAULT_RESERVED_SHARE } from '../fhir/resources/booking.ts';
import type { District, PractitionerRow } from './district.ts';
import type { Profile } from './profiles.ts';

/** Department (as the hospitals name their clinics) and the practitioners' specialty behind it. */
const DEPARTMENTS: [string, string][] = [['心内科', 'cardiology'], ['内分泌科', 'endocrinology'], ['神经内科', 'neurology'], ['骨科', 'orthopaedics']];
const SESSIONS: [string, string][] = [['08:00', '12:00'], ['13:30', '17:30']];
const DAYS_AHEAD = 14;

/** Departments per hospital and places per half-day; the test profile keeps it small. */
function sizing(profile: Profile, type: string): { departments: number; capacity: number } {
  if (profile.name === 'test') return { departments: 2, capacity: 10 };
  return { departments: type === 'tertiary_hospital' ? 4 : 3, capacity: 20 };
}

interface PoolPlan {
  id: number;
  institutionId: number;
  practitionerId: number | null;
  department: string;
  start: Date;
  end: Date;
  slots: SlotPlan[];
}

/** The local (Beijing) calendar date `days` after `now`'s, as YYYY-MM-DD, with its weekday (0 = Sunday). */
function localDay(now: Date, days: number): { date: string; weekday: number } {
  const d = new Date(now.getTime() + 8 * 3600_000 + days * 86_400_000);
  return { date: d.toISOString().slice(0, 10), weekday: d.getUTCDay() };
}

export function planPools(d: District, profile: Profile, now: Date, firstId: number): PoolPlan[] {
  const hospitals = d.institutions.filter((i) => i.type === 'tertiary_hospital' || i.type === 'secondary_hospital');
  const pools: PoolPlan[] = [];
  for (let day = 1; day <= DAYS_AHEAD; day++) {
    const { date, weekday } = localDay(now, day);
    if (weekday === 0 || weekday === 6) continue;
    for (const h of hospitals) {
      const { departments, capacity } = sizing(profile, h.type);
      for (const [department, specialty] of DEPARTMENTS.slice(0, departments)) {
        const doctors: PractitionerRow[] = d.practitioners.filter((p) => p.institution_id === h.id && p.specialty === specialty);
        SESSIONS.forEach(([from, to], k) => {
          const start = new Date(`${date}T${from}:00+08:00`);
          const end = new Date(`${date}T${to}:00+08:00`);
          // the department's specialists take turns; a department without one runs a general clinic
          const doctor = doctors.length ? doctors[(day * SESSIONS.length + k) % doctors.length] : null;
          pools.push({ id: firstId + pools.length, institutionId: h.id, practitionerId: doctor?.id ?? null, department, start, end, slots: planSlots(start, end, { capacity, reservedShare: DEFAULT_RESERVED_SHARE }) });
        });
      }
    }
  }
  return pools;
}

/** Loads the pools: one statement for the schedules, one for their slots. Returns how many slots. */
export async function seedSlotPools(q: Queryable, d: District, profile: Profile, now = new Date()): Promise<number> {
  const { rows } = await q.query('SELECT coalesce(max(id), 0)::int AS max FROM schedule');
  const pools = planPools(d, profile, now, rows[0].max + 1);
  if (!pools.length) return 0;
  await q.query(
    `INSERT INTO schedule (id, institution_id, practitioner_id, department, planning_start, planning_end, reserved_share, release_hours)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::numeric[], $8::int[])`,
    [pools.map((p) => p.id), pools.map((p) => p.institutionId), pools.map((p) => p.practitionerId), pools.map((p) => p.department),
      pools.map((p) => p.start.toISOString()), pools.map((p) => p.end.toISOString()), pools.map(() => DEFAULT_RESERVED_SHARE), pools.map(() => DEFAULT_RELEASE_HOURS)],
  );
  await q.query("SELECT setval(pg_get_serial_sequence('schedule', 'id'), (SELECT max(id) FROM schedule))");
  await insertSlots(q, pools.map((p) => ({ scheduleId: p.id, institutionId: p.institutionId, releaseHours: DEFAULT_RELEASE_HOURS, slots: p.slots })));
  return pools.reduce((n, p) => n + p.slots.length, 0);
}
