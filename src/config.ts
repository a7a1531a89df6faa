// Configuration: every setting, its default and its environment variable in one schema.
// Validated once at start (unknown keys refused), then frozen and passed explicitly — no global getter.
import { z } from 'zod';
import { resolve } from 'node:path';

export const ConfigSchema = z
  .object({
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    host: z.string().default('0.0.0.0'),
    dataDir: z.string().default('./data'),
    /** PostgreSQL connection string; when absent the embedded PGlite engine stores data in dataDir/pglite. */
    databaseUrl: z.string().url().optional(),
    /** Master secret for identity-number encryption, lookup hashes and session signing. Generated into dataDir when absent. */
    secret: z.string().min(32).optional(),
    adminPassword: z.string().min(8).optional(),
    demoPassword: z.string().min(8).optional(),
    /** Seed profile created on first start with an empty database; 'none' starts empty. */
    firstStartSeed: z.enum(['demo', 'dongcheng', 'test', 'none']).default('demo'),
    seed: z.coerce.number().int().default(20260101),
    defaultLocale: z.enum(['zh-CN', 'en']).default('zh-CN'),
    sessionTtlHours: z.coerce.number().positive().default(12),
    /** Set when the console is served over HTTPS so the session cookie is marked Secure. */
    secureCookies: z.stringbool().or(z.boolean()).default(false),
    /** Trust X-Forwarded-For from a reverse proxy (the client address recorded in the audit log comes from it). */
    trustProxy: z.stringbool().or(z.boolean()).default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    webDir: z.string().optional(),
    /** Pool size for the PostgreSQL engine (per server process). */
    pgPoolSize: z.coerce.number().int().positive().default(16),
    /** Server processes sharing the port (`serve --workers N`, node:cluster); above 1 only on PostgreSQL. */
    workers: z.coerce.number().int().min(1).max(64).default(1),
    /** Hour (Beijing time, 0–23) from which the daily detection run evaluates yesterday; 'off' disables the job. */
    surveillanceRunHour: z.union([z.literal('off'), z.coerce.number().int().min(0).max(23)]).default(6),
    /** Minutes between recomputations of the live chronic-disease KPI periods; 'off' disables the job. */
    kpiRecomputeMinutes: z.union([z.literal('off'), z.coerce.number().int().min(1).max(1440)]).default(60),
  })
  .strict();

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

const ENV_KEYS: Record<string, keyof z.infer<typeof ConfigSchema>> = {
  PORT: 'port',
  HOST: 'host',
  CAREGRID_DATA_DIR: 'dataDir',
  DATABASE_URL: 'databaseUrl',
  CAREGRID_SECRET: 'secret',
  CAREGRID_ADMIN_PASSWORD: 'adminPassword',
  CAREGRID_DEMO_PASSWORD: 'demoPassword',
  CAREGRID_FIRST_START_SEED: 'firstStartSeed',
  CAREGRID_SEED: 'seed',
  CAREGRID_LOCALE: 'defaultLocale',
  CAREGRID_SESSION_TTL_HOURS: 'sessionTtlHours',
  CAREGRID_SECURE_COOKIES: 'secureCookies',
  CAREGRID_TRUST_PROXY: 'trustProxy',
  LOG_LEVEL: 'logLevel',
  CAREGRID_WEB_DIR: 'webDir',
  CAREGRID_PG_POOL_SIZE: 'pgPoolSize',
  CAREGRID_WORKERS: 'workers',
  CAREGRID_SURVEILLANCE_RUN_HOUR: 'surveillanceRunHour',
  CAREGRID_KPI_RECOMPUTE_MINUTES: 'kpiRecomputeMinutes',
};

export function configFromEnv(env: NodeJS.ProcessEnv, overrides: Partial<z.input<typeof ConfigSchema>> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [envKey, key] of Object.entries(ENV_KEYS)) {
    const value = env[envKey];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return loadConfig({ ...raw, ...overrides });
}

export function loadConfig(raw: unknown): Config {
  const parsed = ConfigSchema.refine((c) => c.workers === 1 || c.databaseUrl !== undefined, {
    path: ['workers'], message: 'more than one server process needs PostgreSQL (DATABASE_URL): PGlite is an embedded database inside one process',
  }).safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const config = { ...parsed.data, dataDir: resolve(parsed.data.dataDir) };
  return Object.freeze(config);
}
