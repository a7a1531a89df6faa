// One registry of error codes. Every error that reaches a client is an AppError with a stable code, an HTTP status
// and a message in zh-CN and en; `toHttpError` is the only place that picks a status for anything else.
export type Locale = 'zh-CN' | 'en';

interface ErrorDef {
  status: number;
  zh: string;
  en: string;
}

export const ERRORS = {
  VALIDATION_FAILED: { status: 400, zh: '输入有误：{detail}', en: 'Invalid input: {detail}' },
  MALFORMED_JSON: { status: 400, zh: '请求体不是有效的 JSON', en: 'The request body is not valid JSON' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, zh: '不支持的内容类型', en: 'Unsupported content type' },
  ID_NUMBER_INVALID: { status: 400, zh: '身份证号无效：{detail}', en: 'Invalid identity number: {detail}' },
  FHIR_INVALID: { status: 400, zh: '{path} 无效：{detail}', en: 'Invalid {path}: {detail}' },
  FHIR_REQUIRED: { status: 400, zh: '缺少必填元素 {path}', en: 'Missing required element {path}' },
  FHIR_BAD_REFERENCE: { status: 400, zh: '{path} 引用的 {ref} 不存在', en: '{path} refers to {ref}, which does not exist' },
  FHIR_UNSUPPORTED: { status: 400, zh: '不支持：{detail}', en: 'Not supported: {detail}' },
  FHIR_UNKNOWN_PARAMETER: { status: 400, zh: '不支持的查询参数 {param}', en: 'Unsupported search parameter {param}' },
  METHOD_NOT_ALLOWED: { status: 405, zh: '{type} 不支持此操作', en: '{type} does not support this interaction' },
  PRECONDITION_FAILED: { status: 412, zh: '版本不符：当前为 {current}', en: 'Version mismatch: the current version is {current}' },
  UNPROCESSABLE: { status: 422, zh: '无法处理：{detail}', en: 'Cannot be processed: {detail}' },
  UNAUTHENTICATED: { status: 401, zh: '请先登录', en: 'Please log in first' },
  LOGIN_FAILED: { status: 401, zh: '用户名或密码错误', en: 'Wrong username or password' },
  ACCOUNT_LOCKED: { status: 429, zh: '登录失败次数过多，请 {minutes} 分钟后再试', en: 'Too many failed logins; try again in {minutes} minutes' },
  TOKEN_INVALID: { status: 401, zh: '访问令牌无效或已过期', en: 'The access token is invalid or has expired' },
  FORBIDDEN: { status: 403, zh: '您没有执行此操作的权限', en: 'You are not allowed to do this' },
  OUT_OF_SCOPE: { status: 403, zh: '该居民不在您的服务范围内', en: 'This resident is outside your scope of care' },
  WRONG_INSTITUTION: { status: 403, zh: '不能代表其他机构提交数据', en: 'You cannot submit data on behalf of another institution' },
  NOT_FOUND: { status: 404, zh: '未找到{what}', en: '{what} not found' },
  ROUTE_NOT_FOUND: { status: 404, zh: '接口不存在：{method} {url}', en: 'No such endpoint: {method} {url}' },
  CONFLICT: { status: 409, zh: '与现有数据冲突：{detail}', en: 'Conflicts with existing data: {detail}' },
  DUPLICATE_ID_NUMBER: { status: 409, zh: '该身份证号已登记', en: 'This identity number is already registered' },
  STALE_VERSION: { status: 409, zh: '记录已被他人修改，请刷新后重试', en: 'The record was changed by someone else; reload and try again' },
  // two-way referral: booking specialist slots (号源)
  SLOT_TAKEN: { status: 409, zh: '该号源已被预约', en: 'This slot is already booked' },
  SLOT_RESERVED: { status: 409, zh: '该号源为基层转诊预留号源，{releaseAt} 起开放普通预约', en: 'This slot is reserved for referrals from primary care until {releaseAt}' },
  INVALID_STATE: { status: 409, zh: '当前状态不允许此操作：{detail}', en: 'Not allowed in the current state: {detail}' },
  PAYLOAD_TOO_LARGE: { status: 413, zh: '请求体过大', en: 'The request body is too large' },
  RATE_LIMITED: { status: 429, zh: '请求过于频繁', en: 'Too many requests' },
  BUSY: { status: 503, zh: '系统繁忙，请稍后重试', en: 'The system is busy; please retry' },
  // spreadsheet import (modules/imports): whole-file problems are 400s; row problems are reported per row with these
  IMPORT_BAD_FILE: { status: 400, zh: '无法读取文件：{detail}', en: 'Cannot read the file: {detail}' },
  IMPORT_MISSING_COLUMNS: { status: 400, zh: '缺少必需的列：{columns}（请使用导入模板）', en: 'Required columns are missing: {columns} (use the import template)' },
  IMPORT_TOO_MANY_ROWS: { status: 413, zh: '一次最多导入 {max} 行，请拆分文件', en: 'At most {max} rows per import; split the file' },
  IMPORT_REQUIRED: { status: 400, zh: '必填，不能为空', en: 'Required; the cell is empty' },
  IMPORT_INVALID: { status: 400, zh: '{detail}', en: '{detail}' },
  IMPORT_PATIENT_IDENTITY: { status: 400, zh: '请填写身份证号，或姓名、性别和出生日期', en: 'Give the identity number, or the name, sex and birth date' },
  IMPORT_PATIENT_UNKNOWN: { status: 400, zh: '未找到该身份证号对应的居民，请同时填写姓名、性别和出生日期以建档', en: 'No resident has this identity number; add the name, sex and birth date to register them' },
  IMPORT_ENCOUNTER_UNKNOWN: { status: 400, zh: '未找到该编号的就诊记录，请先导入就诊记录', en: 'No encounter with this id; import the encounter first' },
  IMPORT_DUPLICATE_ID: { status: 400, zh: '编号与本文件第 {row} 行重复', en: 'The same id as row {row} of this file' },
  // surveillance feeds and case reports (modules/surveillance): row problems are reported per row with these
  FEED_UNKNOWN_SOURCE: { status: 400, zh: '没有启用的监测来源 {code}', en: 'No active surveillance source {code}' },
  FEED_UNKNOWN_CATEGORY: { status: 400, zh: '监测来源 {source} 下没有启用的类别 {code}', en: 'Source {source} has no active category {code}' },
  FEED_SOURCE_NOT_ALLOWED: { status: 403, zh: '{type}类机构不能报送“{source}”数据', en: 'An institution of type {type} cannot send {source} data' },
  FEED_NOT_COMMUNITY: { status: 400, zh: '{ref} 不是社区：监测数据按社区报送', en: '{ref} is not a community: feeds are sent per community' },
  FEED_DUPLICATE_ROW: { status: 400, zh: '与本次报送的 {row} 重复', en: 'The same key as {row} of this request' },
  CASE_REPORT_NOT_ALLOWED: { status: 403, zh: '{type}类机构不能填报传染病报告卡', en: 'An institution of type {type} cannot file case reports' },
  UNKNOWN_DISEASE: { status: 400, zh: '法定传染病目录中没有启用的病种 {code}', en: 'No active notifiable disease {code}' },
  // family-doctor contracts and chronic-disease management (modules/family-doctor, modules/chronic)
  CONTRACT_EXISTS: { status: 409, zh: '该居民已有有效的家庭医生签约', en: 'This resident already has an active family-doctor contract' },
  FOLLOW_UP_MISSING_READING: { status: 400, zh: '{programme}随访须记录{measures}', en: 'A {programme} follow-up must record {measures}' },
  HEALTH_CHECK_EXISTS: { status: 409, zh: '该居民 {year} 年已做过年度健康体检（{date}）', en: 'This resident already had the {year} annual health check ({date})' },
  PRESCRIPTION_REFUSED: { status: 422, zh: '不符合{kind}开具条件：{rules}', en: 'The {kind} cannot be issued: {rules}' },
  COUPONS_INSUFFICIENT: { status: 409, zh: '用药券不足：{year} 年剩余 {balance} 张，本次需 {count} 张', en: 'Not enough medication coupons: {balance} left for {year}, {count} needed' },
  INTERNAL: { status: 500, zh: '服务器内部错误（编号 {requestId}）', en: 'Internal server error (reference {requestId})' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** A message parameter: plain, or already translated. */
export type Param = string | number | { zh: string; en: string };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field?: string;
  readonly params: Record<string, Param>;
  constructor(code: ErrorCode, params: Record<string, Param> = {}, field?: string) {
    super(code);
    this.code = code;
    this.status = ERRORS[code].status;
    this.params = params;
    this.field = field;
  }
}

export function formatMessage(code: ErrorCode, params: Record<string, Param>, locale: Locale): string {
  const def = ERRORS[code];
  const template = locale === 'en' ? def.en : def.zh;
  if (typeof params.noun === 'string') {
    const n = NOUNS[params.noun] ?? { zh: params.noun, en: params.noun };
    params = { ...params, what: locale === 'en' ? n.en : n.zh };
  }
  return template.replace(/\{(\w+)\}/g, (_, k) => {
    const v = params[k];
    if (v && typeof v === 'object') return locale === 'en' ? v.en : v.zh;
    return String(v ?? '');
  });
}

// Nouns used in NOT_FOUND messages.
export const NOUNS: Record<string, { zh: string; en: string }> = {
  resident: { zh: '居民', en: 'Resident' },
  region: { zh: '区划', en: 'Region' },
  institution: { zh: '机构', en: 'Institution' },
  consortium: { zh: '医联体', en: 'Medical consortium' },
  practitioner: { zh: '医务人员', en: 'Practitioner' },
  team: { zh: '团队', en: 'Team' },
  household: { zh: '家庭户', en: 'Household' },
  user: { zh: '用户', en: 'User' },
  review: { zh: '待审核匹配', en: 'Match review' },
  merge: { zh: '合并记录', en: 'Merge' },
  token: { zh: '访问令牌', en: 'Access token' },
  resource: { zh: '资源', en: 'Resource' },
  version: { zh: '版本', en: 'Version' },
  job: { zh: '任务', en: 'Job' },
  record: { zh: '记录', en: 'Record' },
  breakGlass: { zh: '紧急调阅记录', en: 'Break-glass access' },
  importBatch: { zh: '导入批次', en: 'Import batch' },
  slotPool: { zh: '号源池', en: 'Slot pool' },
  slot: { zh: '号源', en: 'Slot' },
  appointment: { zh: '预约', en: 'Appointment' },
  referral: { zh: '转诊单', en: 'Referral' },
  webhook: { zh: 'Webhook', en: 'Webhook' },
  caseReport: { zh: '传染病报告卡', en: 'Case report' },
  alert: { zh: '预警', en: 'Alert' },
  fusionRule: { zh: '预警融合规则', en: 'Fusion rule' },
  contract: { zh: '签约记录', en: 'Contract' },
  servicePackage: { zh: '服务包', en: 'Service package' },
  programme: { zh: '慢病管理项目', en: 'Programme' },
  enrolment: { zh: '慢病管理档案', en: 'Enrolment' },
  escalationRule: { zh: '督办规则', en: 'Escalation rule' },
  session: { zh: '健康驿站活动', en: 'Health-post session' },
  elderlyCheck: { zh: '健康体检记录', en: 'Health check' },
  prescription: { zh: '处方', en: 'Prescription' },
  delivery: { zh: '送药记录', en: 'Delivery' },
  couponEntry: { zh: '用药券记录', en: 'Coupon entry' },
};

export function notFound(noun: string): AppError {
  return new AppError('NOT_FOUND', { noun });
}

/** Unique indexes whose violation has its own message (a race the code's own checks could not see coming). */
const UNIQUE_ERRORS: Record<string, ErrorCode> = {
  appointment_slot_uq: 'SLOT_TAKEN',
  contract_one_active_uq: 'CONTRACT_EXISTS',
  elderly_check_year_uq: 'HEALTH_CHECK_EXISTS',
};

/** The violated constraint: pg names it; the PGlite thread passes only the message, which quotes it. */
function constraintOf(err: unknown): string {
  const e = err as { constraint?: string; message?: string };
  return e.constraint ?? /constraint "([\w.]+)"/.exec(e.message ?? '')?.[1] ?? '';
}

/** Database errors (by SQLSTATE) that are the caller's fault or transient. Everything else is internal. */
export function translateDbError(err: unknown): AppError | undefined {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case '23505':
      return new AppError(UNIQUE_ERRORS[constraintOf(err)] ?? 'CONFLICT', { detail: 'duplicate' });
    case '23503':
      return new AppError('VALIDATION_FAILED', { detail: 'reference to a record that does not exist' });
    case '23514':
    case '22P02':
    case '22007':
    case '22008':
      return new AppError('VALIDATION_FAILED', { detail: 'value out of range' });
    case '40001':
    case '40P01':
    case '55P03':
    case '57014':
      return new AppError('BUSY');
    default:
      return undefined;
  }
}
