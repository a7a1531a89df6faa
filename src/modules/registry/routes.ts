// Registry HTTP routes: thin, typed, every input and response described for the OpenAPI document.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.ts';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { IdParam, PageQuery, errorResponses, pageResponse, requirePrincipal, requireRole } from '../../platform/http.ts';
import * as svc from './service.ts';

const Region = z.object({ id: z.number(), code: z.string(), name: z.string(), nameEn: z.string().nullable(), level: z.enum(svc.REGION_LEVELS), parentId: z.number().nullable(), kind: z.string().nullable(), population: z.number().nullable(), childCount: z.number(),
  lon: z.number().nullable().describe('centroid longitude (WGS84), communities'), lat: z.number().nullable().describe('centroid latitude') });
const RegionWithPath = Region.extend({ path: z.array(z.object({ id: z.number(), code: z.string(), name: z.string(), nameEn: z.string().nullable(), level: z.string() })) });
const Institution = z.object({ id: z.number(), code: z.string(), name: z.string(), nameEn: z.string().nullable(), type: z.string(), level: z.string().nullable(), grade: z.string().nullable(), capabilities: z.array(z.string()), regionId: z.number(), regionName: z.string(), parentId: z.number().nullable(), address: z.string().nullable(), beds: z.number().nullable(), active: z.boolean() });
const InstitutionBody = z.object({
  code: z.string().regex(/^[A-Za-z0-9_-]{2,40}$/),
  name: z.string().min(2).max(100),
  nameEn: z.string().max(200).nullable().optional(),
  type: z.enum(svc.INSTITUTION_TYPES),
  level: z.enum(['primary', 'secondary', 'tertiary']).nullable().optional(),
  grade: z.enum(['a', 'b', 'c']).nullable().optional(),
  capabilities: z.array(z.enum(svc.CAPABILITIES)).optional(),
  regionId: z.number().int(),
  parentId: z.number().int().nullable().optional(),
  address: z.string().max(200).nullable().optional(),
  beds: z.number().int().min(0).nullable().optional(),
});
const Consortium = z.object({ id: z.number(), name: z.string(), kind: z.enum(['comprehensive', 'specialty']), integration: z.enum(['tight', 'loose']), specialty: z.string().nullable(), leadInstitutionId: z.number(), leadInstitutionName: z.string(), memberCount: z.number(), gridCount: z.number() });
const ConsortiumDetail = Consortium.extend({ members: z.array(z.object({ institutionId: z.number(), role: z.string(), name: z.string(), type: z.string(), level: z.string().nullable() })), gridIds: z.array(z.number()) });
const ConsortiumBody = z.object({
  name: z.string().min(2).max(100),
  kind: z.enum(['comprehensive', 'specialty']),
  integration: z.enum(['tight', 'loose']).optional(),
  specialty: z.string().max(50).nullable().optional(),
  leadInstitutionId: z.number().int(),
  memberIds: z.array(z.number().int()).optional(),
  gridIds: z.array(z.number().int()).optional(),
});
const Team = z.object({ id: z.number(), code: z.string(), name: z.string(), kind: z.string(), institutionId: z.number(), institutionName: z.string(), communityId: z.number().nullable(), memberCount: z.number(), gridCount: z.number() });
const Ref = z.object({ id: z.number(), name: z.string() });
export const CareChain = z.object({
  grid: Ref, community: Ref, street: Ref,
  consortium: Ref.extend({ integration: z.string() }).nullable(),
  partnerHospital: Ref.extend({ type: z.string(), level: z.string().nullable() }).nullable(),
  communityHealthCentre: Ref.nullable(),
  communityHealthStation: Ref.nullable(),
  familyDoctorTeam: Ref.nullable(),
  specialtyConsortia: z.array(Ref.extend({ specialty: z.string().nullable() })),
});

const Practitioner = z.object({ id: z.number(), code: z.string(), name: z.string(), sex: z.string().nullable(), institutionId: z.number(), institutionName: z.string(), profession: z.string(), specialty: z.string().nullable(), title: z.string().nullable(), active: z.boolean() });
const PractitionerBody = z.object({
  code: z.string().regex(/^[A-Za-z0-9_-]{2,40}$/), name: z.string().trim().min(1).max(50), sex: z.enum(['male', 'female']).nullable().optional(),
  institutionId: z.number().int(), profession: z.enum(['gp', 'nurse', 'public_health', 'specialist', 'epidemiologist', 'pharmacist', 'technician', 'other']),
  specialty: z.string().max(50).nullable().optional(), title: z.string().max(30).nullable().optional(), active: z.boolean().optional(),
});
const TeamDetail = Team.extend({ members: z.array(z.object({ practitionerId: z.number(), role: z.string(), name: z.string(), profession: z.string(), institutionId: z.number(), institutionName: z.string() })), gridIds: z.array(z.number()) });
const TeamBody = z.object({
  code: z.string().regex(/^[A-Za-z0-9_-]{2,40}$/), name: z.string().trim().min(1).max(60), kind: z.enum(['family_doctor', 'tracing', 'emergency', 'other']).optional(),
  institutionId: z.number().int(), communityId: z.number().int().nullable().optional(),
  members: z.array(z.object({ practitionerId: z.number().int(), role: z.enum(['lead_gp', 'gp', 'nurse', 'public_health', 'specialist_partner', 'member']) })).optional(),
  gridIds: z.array(z.number().int()).optional(),
});

/** An institution admin manages its own institution's teams only. */
function assertOwnInstitution(req: FastifyRequest, institutionId: number) {
  const p = req.principal!;
  if (!p.roles.includes('district_admin') && p.institutionId !== institutionId) throw new AppError('FORBIDDEN');
}

export async function registryRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = ctx;
  const tags = ['registry'];

  app.get('/regions', {
    schema: { tags, summary: 'Children of a region (top level when no parentId), or every region of a level', querystring: z.object({ parentId: z.coerce.number().int().optional(), level: z.enum(svc.REGION_LEVELS).optional() }), response: { 200: z.object({ items: z.array(Region) }), ...errorResponses } },
  }, async (req) => svc.listRegions(db, req.query));
  app.get('/regions/:id', { schema: { tags, summary: 'A region with its ancestors', params: IdParam, response: { 200: RegionWithPath, ...errorResponses } } }, async (req) => svc.getRegion(db, req.params.id));
  app.post('/regions', {
    schema: { tags, summary: 'Create a region', body: z.object({ code: z.string().regex(/^\d{6,20}$/), name: z.string().min(1).max(60), nameEn: z.string().max(100).optional(), level: z.enum(svc.REGION_LEVELS), parentId: z.number().int().nullable().optional(), kind: z.string().max(20).optional() }), response: { 201: RegionWithPath, ...errorResponses } },
  }, async (req, reply) => {
    requireRole(req, 'district_admin');
    const r = await db.tx((q) => svc.createRegion(q, req.body));
    return reply.status(201).send(r);
  });
  app.patch('/regions/:id', {
    schema: { tags, summary: 'Update a region', params: IdParam, body: z.object({ name: z.string().min(1).max(60).optional(), nameEn: z.string().max(100).nullable().optional(), population: z.number().int().min(0).nullable().optional() }), response: { 200: RegionWithPath, ...errorResponses } },
  }, async (req) => {
    requireRole(req, 'district_admin');
    return svc.updateRegion(db, req.params.id, req.body);
  });

  app.get('/institutions', {
    schema: { tags, summary: 'Institutions, filtered and paged', querystring: PageQuery.extend({ type: z.enum(svc.INSTITUTION_TYPES).optional(), regionId: z.coerce.number().int().optional(), capability: z.enum(svc.CAPABILITIES).optional(), q: z.string().max(50).optional() }), response: { 200: pageResponse(Institution), ...errorResponses } },
  }, async (req) => svc.listInstitutions(db, req.query));
  app.get('/institutions/:id', { schema: { tags, summary: 'One institution', params: IdParam, response: { 200: Institution, ...errorResponses } } }, async (req) => svc.getInstitution(db, req.params.id));
  app.post('/institutions', { schema: { tags, summary: 'Register an institution', body: InstitutionBody, response: { 201: Institution, ...errorResponses } } }, async (req, reply) => {
    requireRole(req, 'district_admin');
    return reply.status(201).send(await db.tx((q) => svc.createInstitution(q, req.body)));
  });
  app.patch('/institutions/:id', { schema: { tags, summary: 'Update an institution', params: IdParam, body: InstitutionBody.omit({ code: true }).partial().extend({ active: z.boolean().optional() }), response: { 200: Institution, ...errorResponses } } }, async (req) => {
    requireRole(req, 'district_admin');
    return db.tx((q) => svc.updateInstitution(q, req.params.id, req.body));
  });

  app.get('/consortia', { schema: { tags, summary: 'Medical consortia (医联体)', querystring: z.object({ kind: z.enum(['comprehensive', 'specialty']).optional() }), response: { 200: z.object({ items: z.array(Consortium) }), ...errorResponses } } }, async (req) => svc.listConsortia(db, req.query));
  app.get('/consortia/:id', { schema: { tags, summary: 'A consortium with members and covered grids', params: IdParam, response: { 200: ConsortiumDetail, ...errorResponses } } }, async (req) => svc.getConsortium(db, req.params.id));
  app.post('/consortia', { schema: { tags, summary: 'Create a consortium', body: ConsortiumBody, response: { 201: ConsortiumDetail, ...errorResponses } } }, async (req, reply) => {
    requireRole(req, 'district_admin');
    return reply.status(201).send(await db.tx((q) => svc.saveConsortium(q, null, req.body)));
  });
  app.patch('/consortia/:id', { schema: { tags, summary: 'Replace a consortium’s settings, members or grids', params: IdParam, body: ConsortiumBody, response: { 200: ConsortiumDetail, ...errorResponses } } }, async (req) => {
    requireRole(req, 'district_admin');
    return db.tx((q) => svc.saveConsortium(q, req.params.id, req.body));
  });
  app.get('/coverage/grids', {
    schema: { tags, summary: 'Which consortia cover each grid', querystring: z.object({ streetId: z.coerce.number().int().optional() }), response: { 200: z.object({ items: z.array(z.object({ gridId: z.number(), gridName: z.string(), communityId: z.number(), communityName: z.string(), streetId: z.number(), streetName: z.string(), consortia: z.array(z.object({ id: z.number(), name: z.string(), kind: z.string() })) })), uncovered: z.number() }), ...errorResponses } },
  }, async (req) => svc.gridCoverage(db, req.query));
  app.get('/regions/:id/care-chain', { schema: { tags, summary: 'For a grid: community, street, consortium, community health centre, partner hospital, family-doctor team', params: IdParam, response: { 200: CareChain, ...errorResponses } } }, async (req) => svc.careChainForGrid(db, req.params.id));

  app.get('/practitioners', {
    schema: { tags, summary: 'Practitioners', querystring: PageQuery.extend({ institutionId: z.coerce.number().int().optional(), profession: z.string().max(30).optional(), q: z.string().max(30).optional() }), response: { 200: pageResponse(Practitioner), ...errorResponses } },
  }, async (req) => svc.listPractitioners(db, req.query));
  app.get('/practitioners/:id', { schema: { tags, summary: 'One practitioner', params: IdParam, response: { 200: Practitioner, ...errorResponses } } }, async (req) => svc.getPractitioner(db, req.params.id));
  app.post('/practitioners', { schema: { tags, summary: 'Register a practitioner', body: PractitionerBody, response: { 201: Practitioner, ...errorResponses } } }, async (req, reply) => {
    requireRole(req, 'district_admin');
    return reply.status(201).send(await db.tx((q) => svc.savePractitioner(q, null, req.body)));
  });
  app.patch('/practitioners/:id', { schema: { tags, summary: 'Update a practitioner', params: IdParam, body: PractitionerBody.omit({ code: true }), response: { 200: Practitioner, ...errorResponses } } }, async (req) => {
    requireRole(req, 'district_admin');
    return db.tx((q) => svc.savePractitioner(q, req.params.id, req.body));
  });
  app.get('/teams', { schema: { tags, summary: 'Family-doctor and other teams', querystring: PageQuery.extend({ institutionId: z.coerce.number().int().optional(), communityId: z.coerce.number().int().optional() }), response: { 200: pageResponse(Team), ...errorResponses } } }, async (req) => svc.listTeams(db, req.query));
  app.get('/teams/:id', { schema: { tags, summary: 'A team with members and grids', params: IdParam, response: { 200: TeamDetail, ...errorResponses } } }, async (req) => svc.getTeam(db, req.params.id));
  app.post('/teams', { schema: { tags, summary: 'Create a team with its members and grids', body: TeamBody, response: { 201: TeamDetail, ...errorResponses } } }, async (req, reply) => {
    requireRole(req, 'district_admin', 'institution_admin');
    assertOwnInstitution(req, req.body.institutionId);
    return reply.status(201).send(await db.tx((q) => svc.saveTeam(q, null, req.body)));
  });
  app.patch('/teams/:id', { schema: { tags, summary: 'Replace a team’s settings, members or grids', params: IdParam, body: TeamBody.omit({ code: true }), response: { 200: TeamDetail, ...errorResponses } } }, async (req) => {
    requireRole(req, 'district_admin', 'institution_admin');
    assertOwnInstitution(req, req.body.institutionId);
    const team = await db.tx(async (q) => {
      const current = await svc.getTeam(q, req.params.id);
      assertOwnInstitution(req, current.institutionId);
      return svc.saveTeam(q, req.params.id, { ...req.body, code: current.code });
    });
    ctx.principals.clear(); // team grids decide family doctors' scope
    return team;
  });

  app.get('/stats/overview', { schema: { tags: ['stats'], summary: 'District counts for the home page', response: { 200: z.record(z.string(), z.number()), ...errorResponses } } }, async (req) => {
    requirePrincipal(req);
    return svc.overview(db);
  });
}
