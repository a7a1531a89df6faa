// EpisodeOfCare: a resident's enrolment in a chronic-disease programme (慢病管理, modules/chronic), type = the
// programme. A read-only view of chronic_enrolment: enrolments are made by the diagnoses every institution records
// (Condition) and by the family doctor's API, never written as EpisodeOfCare.
import type { Row } from '../../db/engine.ts';
import { clean, instant, ref, type Json } from '../datatypes.ts';
import { dateParam, referenceParam, tokenParam } from '../search.ts';
import type { ResourceKind } from '../types.ts';
import { personIncludes } from './common.ts';
import { DISTRICT_TODAY_SQL } from '../../platform/local-date.ts';

export const PROGRAMME_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/chronic-programme';

/** An enrolment row with its programme's name and the resident's contracted team now (contracts move it). */
export const ENROLMENT_SELECT = `t.*, (SELECT p.name FROM chronic_programme p WHERE p.code = t.programme_code) AS programme_name,
    (SELECT cr.team_id FROM care_relationship cr WHERE cr.resident_id = t.resident_id AND cr.kind = 'contract' AND cr.team_id IS NOT NULL
        AND cr.valid_from <= ${DISTRICT_TODAY_SQL} AND (cr.valid_to IS NULL OR cr.valid_to >= ${DISTRICT_TODAY_SQL}) ORDER BY cr.id DESC LIMIT 1) AS team_id`;

export const episodeOfCareKind: ResourceKind = {
  type: 'EpisodeOfCare',
  table: 'chronic_enrolment',
  from: 'chronic_enrolment t',
  // the managing team is the resident's contracted team now (contracts move it), with the programme's names
  select: ENROLMENT_SELECT,
  residentColumn: 'resident_id',
  order: 't.started_at DESC, t.id DESC',
  dateColumn: 'started_at',
  writers: [],
  include: { ...personIncludes('EpisodeOfCare'), 'EpisodeOfCare:condition': { target: 'Condition', column: 'condition_id' }, 'EpisodeOfCare:organization': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    return clean({
      resourceType: 'EpisodeOfCare',
      id: String(row.id),
      meta: { versionId: String(row.version), lastUpdated: instant(row.updated_at) },
      status: row.status,
      type: [{ coding: [{ system: PROGRAMME_SYSTEM, code: row.programme_code, ...(row.programme_name ? { display: row.programme_name } : {}) }] }],
      diagnosis: row.condition_id ? [{ condition: ref('Condition', row.condition_id), rank: 1 }] : undefined,
      patient: ref('Patient', row.resident_id),
      managingOrganization: ref('Organization', row.institution_id),
      period: clean({ start: instant(row.started_at), end: instant(row.ended_at) }),
      team: row.team_id ? [ref('CareTeam', row.team_id)] : undefined,
    });
  },
  search: {
    patient: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    status: tokenParam('t.status'),
    type: tokenParam('t.programme_code', null, PROGRAMME_SYSTEM, 'the programme (hypertension, diabetes)'),
    condition: referenceParam('t.condition_id', ['Condition'], 'the diagnosis that enrolled the resident'),
    organization: referenceParam('t.institution_id', ['Organization'], 'the institution whose diagnosis enrolled the resident'),
    date: dateParam('t.started_at', 'instant', 'start of the enrolment'),
  },
};
