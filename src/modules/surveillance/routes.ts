// Infectious disease surveillance HTTP API (传染病监测预警). Detection on series the caller sends reads no personal
// data, so any logged-in account may call it; feeds and case reports have their own route files.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../context.ts';
import { errorResponses, requirePrincipal } from '../../platform/http.ts';
import { DetectBody, DetectResponse, detect } from './detect.ts';
import { feedRoutes } from './feed-routes.ts';
import { caseReportRoutes } from './case-report-routes.ts';
import { runRoutes } from './run-routes.ts';
import { alertRoutes } from './alert-routes.ts';
import { assigneeRoutes } from './assignee-routes.ts';

export async function surveillanceRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  await feedRoutes(fastify, ctx);
  await caseReportRoutes(fastify, ctx);
  const tags = ['surveillance'];

  app.post('/surveillance/detect', {
    // the schema documents the body; detect() checks it, so the API and `caregrid detect` name bad fields alike
    attachValidation: true,
    schema: {
      tags,
      summary: 'Run outbreak detection (earsC1, earsC2, earsC3, cusum, farringtonFlexible; R surveillance control names and defaults) on one job or an array of jobs',
      body: DetectBody,
      response: { 200: DetectResponse, ...errorResponses },
    },
  }, async (req) => {
    requirePrincipal(req);
    return detect(req.body);
  });

  await runRoutes(fastify, ctx);
  await alertRoutes(fastify, ctx);
  await assigneeRoutes(fastify, ctx);
}
