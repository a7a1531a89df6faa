// Spreadsheet import endpoints: templates, upload (the file is the raw request body), batches and error reports.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../platform/errors.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal, requireRole } from '../../platform/http.ts';
import type { Role } from '../../platform/roles.ts';
import { IMPORT_KINDS, KIND_LABELS, type ImportKind } from './columns.ts';
import { templateCsv, templateXlsx } from './sheet.ts';
import * as svc from './service.ts';
import { FEED_SENDERS } from '../surveillance/feeds.ts';

/** Who may import: institution staff who record care, and the district administrator. */
export const IMPORTERS: readonly Role[] = ['institution_admin', 'family_doctor', 'nurse', 'specialist', 'referral_desk', 'district_admin'];
/** Feeds have their own senders (surveillance/feeds.ts), the CDC among them. */
const importersOf = (kind: ImportKind): readonly Role[] => (kind === 'feeds' ? FEED_SENDERS : IMPORTERS);
const ANY_IMPORTER: readonly Role[] = [...new Set([...IMPORTERS, ...FEED_SENDERS])];

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const CSV_TYPE = 'text/csv; charset=utf-8';
const MAX_FILE_BYTES = 20 * 1024 * 1024;
// Browsers label a .csv as text/csv, or application/vnd.ms-excel on Windows; the format is told from the bytes.
const UPLOAD_TYPES = ['text/csv', 'text/plain', XLSX_TYPE, 'application/vnd.ms-excel', 'application/octet-stream'];

const RowErrorSchema = z.object({ row: z.number().int(), column: z.string(), field: z.string(), message: z.string() });
const ImportResultSchema = z.object({
  importId: z.number().int(), kind: z.enum(IMPORT_KINDS), total: z.number().int(), created: z.number().int(), updated: z.number().int(),
  unchanged: z.number().int(), failed: z.number().int(), errors: z.array(RowErrorSchema),
});
const BatchSchema = z.object({
  importId: z.number().int(), institutionId: z.number().int(), institutionName: z.string(), username: z.string().nullable(), kind: z.enum(IMPORT_KINDS),
  format: z.enum(['csv', 'xlsx']), fileName: z.string().nullable(), total: z.number().int(), created: z.number().int(), updated: z.number().int(),
  unchanged: z.number().int(), failed: z.number().int(), createdAt: z.string(),
});

function attachment(reply: FastifyReply, format: 'csv' | 'xlsx', asciiName: string, name: string) {
  return reply
    .type(format === 'csv' ? CSV_TYPE : XLSX_TYPE)
    .header('content-disposition', `attachment; filename="${asciiName}"; filename*=UTF-8''${encodeURIComponent(name)}`)
    .header('cache-control', 'no-store');
}

export async function importRoutes(fastify: FastifyInstance, ctx: AppContext) {
  // own encapsulation context: the spreadsheet body parsers apply to these routes only
  await fastify.register(async (scoped) => {
    const app = scoped.withTypeProvider<ZodTypeProvider>();
    const tags = ['imports'];
    app.addContentTypeParser(UPLOAD_TYPES, { parseAs: 'buffer', bodyLimit: MAX_FILE_BYTES }, (_req, body, done) => done(null, body));

    app.get('/imports/templates/:file', {
      schema: {
        tags, summary: 'Import template (就诊记录 encounters / 检查检验结果 results / 监测数据 feeds) as .xlsx (with instructions sheet) or .csv',
        params: z.object({ file: z.string().regex(/^(encounters|results|feeds)\.(csv|xlsx)$/, 'encounters|results|feeds . csv|xlsx') }),
      },
    }, async (req, reply) => {
      requirePrincipal(req);
      const [kind, format] = req.params.file.split('.') as [ImportKind, 'csv' | 'xlsx'];
      const body = format === 'csv' ? templateCsv(kind) : await templateXlsx(kind);
      return attachment(reply, format, `caregrid-${kind}-template.${format}`, `${KIND_LABELS[kind].zh}导入模板.${format}`).send(body);
    });

    app.post('/imports/:kind', {
      bodyLimit: MAX_FILE_BYTES,
      schema: {
        tags, summary: 'Import a filled template: the file is the raw body (text/csv or .xlsx). Rows are checked and written one by one',
        params: z.object({ kind: z.enum(IMPORT_KINDS) }),
        querystring: z.object({
          fileName: z.string().max(200).optional(),
          institutionId: z.coerce.number().int().positive().optional().describe('feeds: report as this institution (CDC and district administrator only)'),
        }),
        response: { 200: ImportResultSchema, ...errorResponses },
      },
    }, async (req) => {
      const p = requireRole(req, ...importersOf(req.params.kind));
      if (!Buffer.isBuffer(req.body)) throw new AppError('UNSUPPORTED_MEDIA_TYPE');
      return svc.runImport(ctx, p, auditContext(req), {
        kind: req.params.kind, file: req.body, fileName: req.query.fileName ?? null, locale: req.locale, institutionId: req.query.institutionId ?? null,
        base: `${req.protocol}://${req.host}/fhir/R4`,
        logFailure: (info) => req.log.error({ importRow: info }, 'import row failed'),
      });
    });

    app.get('/imports', {
      schema: { tags, summary: 'Import batches of the caller’s institution (all institutions for the district administrator), newest first', querystring: PageQuery, response: { 200: pageResponse(BatchSchema), ...errorResponses } },
    }, async (req) => {
      const p = requireRole(req, ...ANY_IMPORTER);
      return svc.listImports(ctx, p, req.query.page, req.query.pageSize);
    });

    app.get('/imports/:id', {
      schema: { tags, summary: 'One import batch with its row errors', params: IdParam, response: { 200: BatchSchema.extend({ errors: z.array(RowErrorSchema) }), ...errorResponses } },
    }, async (req) => {
      const p = requireRole(req, ...ANY_IMPORTER);
      return svc.getImport(ctx, p, req.params.id, req.locale);
    });

    app.get('/imports/:id/:file', {
      schema: {
        tags, summary: 'Error report: the failed rows as uploaded plus row number, columns and reasons; fix and upload it again',
        params: IdParam.extend({ file: z.enum(['errors.csv', 'errors.xlsx']) }),
      },
    }, async (req, reply) => {
      const p = requireRole(req, ...ANY_IMPORTER);
      const format = req.params.file === 'errors.csv' ? 'csv' : 'xlsx';
      const { body, kind } = await svc.errorReport(ctx, p, auditContext(req), req.params.id, format, req.locale);
      return attachment(reply, format, `caregrid-${kind}-import-${req.params.id}-errors.${format}`, `${KIND_LABELS[kind].zh}导入错误报告-${req.params.id}.${format}`).send(body);
    });
  });
}
