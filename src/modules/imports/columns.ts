// The spreadsheet templates (导入模板) for encounters and results: one definition per column, read by the template
// writer, the parser and the error report alike, so the three cannot disagree. Pure data, no I/O.
//
// Header convention (documented in the template's instructions sheet and README): one header row, each cell
// `中文名 (englishKey)`. The parser recognises a column by its key in parentheses, by the Chinese name alone or by
// the key alone, so a clerk may shorten headers or reorder columns; unknown columns are ignored.

export const IMPORT_KINDS = ['encounters', 'results', 'feeds'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

export type ColumnType = 'text' | 'date' | 'datetime' | 'number' | 'code';

export interface ColumnDef {
  key: string;
  zh: string;
  en: string;
  type: ColumnType;
  required?: boolean;
  /** What the instructions sheet says about the column (allowed values, format). */
  note: { zh: string; en: string };
  /** Column width in the xlsx template, in characters. */
  width?: number;
}

const PATIENT_COLUMNS: ColumnDef[] = [
  { key: 'idNumber', zh: '身份证号', en: 'Identity number', type: 'text', width: 22, note: { zh: '18 位居民身份证号；不填时须填姓名、性别、出生日期', en: '18-character resident identity number; without it, name, sex and birth date are required' } },
  { key: 'name', zh: '姓名', en: 'Name', type: 'text', width: 10, note: { zh: '居民姓名', en: 'The resident’s name' } },
  { key: 'sex', zh: '性别', en: 'Sex', type: 'code', width: 6, note: { zh: '男 / 女（或 male / female）', en: '男 / 女 or male / female' } },
  { key: 'birthDate', zh: '出生日期', en: 'Birth date', type: 'date', width: 12, note: { zh: 'YYYY-MM-DD', en: 'YYYY-MM-DD' } },
  { key: 'phone', zh: '联系电话', en: 'Phone', type: 'text', width: 14, note: { zh: '11 位手机号或带区号的固定电话，可选', en: 'Mobile (11 digits) or landline with area code; optional' } },
];

/** Vital signs of an encounter: each filled cell becomes an Observation with a LOINC code (FHIR vital-signs profile). */
export const VITALS = [
  { key: 'sbp', zh: '收缩压', en: 'Systolic BP', loinc: '8480-6', display: 'Systolic blood pressure', unit: 'mmHg', ucum: 'mm[Hg]', min: 40, max: 300, category: 'vital-signs' },
  { key: 'dbp', zh: '舒张压', en: 'Diastolic BP', loinc: '8462-4', display: 'Diastolic blood pressure', unit: 'mmHg', ucum: 'mm[Hg]', min: 20, max: 200, category: 'vital-signs' },
  { key: 'pulse', zh: '脉搏', en: 'Pulse', loinc: '8867-4', display: 'Heart rate', unit: '次/分', ucum: '/min', min: 20, max: 300, category: 'vital-signs' },
  { key: 'temperature', zh: '体温', en: 'Temperature', loinc: '8310-5', display: 'Body temperature', unit: '℃', ucum: 'Cel', min: 30, max: 45, category: 'vital-signs' },
  { key: 'weight', zh: '体重', en: 'Weight', loinc: '29463-7', display: 'Body weight', unit: 'kg', ucum: 'kg', min: 0.3, max: 400, category: 'vital-signs' },
  { key: 'height', zh: '身高', en: 'Height', loinc: '8302-2', display: 'Body height', unit: 'cm', ucum: 'cm', min: 20, max: 260, category: 'vital-signs' },
  // mmol/L as Chinese laboratories report it, hence the molar LOINC code rather than 1558-6 (mg/dL)
  { key: 'fastingGlucose', zh: '空腹血糖', en: 'Fasting glucose', loinc: '14771-0', display: 'Fasting glucose [Moles/volume] in Serum or Plasma', unit: 'mmol/L', ucum: 'mmol/L', min: 0.5, max: 60, category: 'laboratory' },
] as const;

/** Encounter classes with the Chinese labels clerks use (就诊类型). */
export const ENCOUNTER_CLASS_LABELS: Record<string, { zh: string; en: string; aliases: string[] }> = {
  outpatient: { zh: '门诊', en: 'Outpatient', aliases: ['门诊', '普通门诊', '专科门诊'] },
  emergency: { zh: '急诊', en: 'Emergency', aliases: ['急诊'] },
  inpatient: { zh: '住院', en: 'Inpatient', aliases: ['住院'] },
  fever_clinic: { zh: '发热门诊', en: 'Fever clinic', aliases: ['发热门诊', '发热'] },
  home_visit: { zh: '上门服务', en: 'Home visit', aliases: ['上门服务', '上门', '家庭访视', '入户'] },
  health_check: { zh: '健康体检', en: 'Health check', aliases: ['健康体检', '体检'] },
  follow_up: { zh: '随访', en: 'Follow-up', aliases: ['随访'] },
};

export const RESULT_CATEGORY_LABELS: Record<string, { zh: string; en: string; aliases: string[]; fhir: string }> = {
  lab: { zh: '检验', en: 'Laboratory', aliases: ['检验', '化验', 'laboratory'], fhir: 'laboratory' },
  exam: { zh: '检查', en: 'Exam', aliases: ['检查'], fhir: 'exam' },
  imaging: { zh: '影像', en: 'Imaging', aliases: ['影像', '影像检查'], fhir: 'imaging' },
};

const ENCOUNTER_COLUMNS: ColumnDef[] = [
  { key: 'sourceId', zh: '就诊记录编号', en: 'Encounter id', type: 'text', required: true, width: 16, note: { zh: '贵机构系统中的就诊流水号；同一编号再次导入时更新而不重复', en: 'Your system’s id for the visit; importing the same id again updates it instead of duplicating it' } },
  ...PATIENT_COLUMNS,
  { key: 'class', zh: '就诊类型', en: 'Encounter class', type: 'code', required: true, width: 10, note: { zh: Object.entries(ENCOUNTER_CLASS_LABELS).map(([k, v]) => `${v.zh}(${k})`).join('、'), en: Object.entries(ENCOUNTER_CLASS_LABELS).map(([k, v]) => `${k} (${v.zh})`).join(', ') } },
  { key: 'startAt', zh: '开始时间', en: 'Start time', type: 'datetime', required: true, width: 18, note: { zh: 'YYYY-MM-DD HH:mm（北京时间）；住院为入院时间', en: 'YYYY-MM-DD HH:mm (Beijing time); admission time for inpatients' } },
  { key: 'endAt', zh: '结束时间', en: 'End time', type: 'datetime', width: 18, note: { zh: '可选；住院为出院时间，不填表示仍在院', en: 'Optional; discharge time for inpatients, empty while still admitted' } },
  { key: 'department', zh: '科室', en: 'Department', type: 'text', width: 12, note: { zh: '可选', en: 'Optional' } },
  { key: 'diagnosisCodes', zh: '诊断编码', en: 'Diagnosis ICD-10 codes', type: 'text', width: 16, note: { zh: 'ICD-10 编码，多个以分号“;”分隔，如 I10;E11.9', en: 'ICD-10 codes, several separated by “;”, e.g. I10;E11.9' } },
  { key: 'diagnosisNames', zh: '诊断名称', en: 'Diagnosis names', type: 'text', width: 20, note: { zh: '与诊断编码一一对应，以分号分隔', en: 'One per code, in the same order, separated by “;”' } },
  ...VITALS.map((v): ColumnDef => ({ key: v.key, zh: `${v.zh}(${v.unit})`, en: `${v.en} (${v.unit})`, type: 'number', width: 10, note: { zh: `可选，${v.min}–${v.max} ${v.unit}`, en: `Optional, ${v.min}–${v.max} ${v.unit}` } })),
  { key: 'dischargeSummary', zh: '出院小结', en: 'Discharge summary', type: 'text', width: 30, note: { zh: '可选，纯文本', en: 'Optional, plain text' } },
];

const RESULT_COLUMNS: ColumnDef[] = [
  { key: 'sourceId', zh: '结果编号', en: 'Result id', type: 'text', required: true, width: 16, note: { zh: '贵机构系统中的结果（报告项目）编号；同一编号再次导入时更新', en: 'Your system’s id for the result item; importing the same id again updates it' } },
  { key: 'encounterSourceId', zh: '就诊记录编号', en: 'Encounter id', type: 'text', width: 16, note: { zh: '可选；须是已导入的就诊记录编号', en: 'Optional; an encounter id you already imported' } },
  ...PATIENT_COLUMNS,
  { key: 'category', zh: '类别', en: 'Category', type: 'code', required: true, width: 8, note: { zh: '检验(lab)、检查(exam)、影像(imaging)', en: 'lab (检验), exam (检查), imaging (影像)' } },
  { key: 'codeSystem', zh: '编码体系', en: 'Code system', type: 'code', width: 10, note: { zh: 'LOINC 或 本地(local)，默认本地', en: 'LOINC or local (本地); local when empty' } },
  { key: 'code', zh: '项目编码', en: 'Code', type: 'text', required: true, width: 12, note: { zh: 'LOINC 编码（如 718-7）或本院项目编码', en: 'LOINC code (e.g. 718-7) or your local item code' } },
  { key: 'itemName', zh: '项目名称', en: 'Item name', type: 'text', required: true, width: 16, note: { zh: '如 血红蛋白', en: 'e.g. Hemoglobin' } },
  { key: 'value', zh: '结果值', en: 'Value', type: 'text', required: true, width: 12, note: { zh: '数值或文字结果（如 阴性）', en: 'A number or a text result (e.g. negative)' } },
  { key: 'unit', zh: '单位', en: 'Unit', type: 'text', width: 10, note: { zh: '可选，如 g/L', en: 'Optional, e.g. g/L' } },
  { key: 'refLow', zh: '参考下限', en: 'Reference low', type: 'number', width: 10, note: { zh: '可选，数值', en: 'Optional, a number' } },
  { key: 'refHigh', zh: '参考上限', en: 'Reference high', type: 'number', width: 10, note: { zh: '可选，数值', en: 'Optional, a number' } },
  { key: 'resultAt', zh: '报告时间', en: 'Result time', type: 'datetime', required: true, width: 18, note: { zh: 'YYYY-MM-DD HH:mm（北京时间）', en: 'YYYY-MM-DD HH:mm (Beijing time)' } },
];

// Surveillance feeds (监测数据): a row is a day's count for a community, source and category, or — with an item id —
// one line-list item (a registration, a buyer, a specimen). The first column anchors the header row.
const FEED_COLUMNS: ColumnDef[] = [
  { key: 'sourceCode', zh: '监测来源', en: 'Source', type: 'code', required: true, width: 14, note: { zh: '来源编码或名称：fever_clinic 发热门诊、sentinel 哨点及11类症状、pharmacy 药店、laboratory 实验室、school 学校、wastewater 污水', en: 'Source code or name: fever_clinic, sentinel, pharmacy, laboratory, school, wastewater' } },
  { key: 'categoryCode', zh: '类别', en: 'Category', type: 'code', required: true, width: 14, note: { zh: '该来源下的类别编码或名称，如 antipyretic 或 退热药（见 GET /api/v1/surveillance/sources）', en: 'A category of the source by code or name, e.g. antipyretic (see GET /api/v1/surveillance/sources)' } },
  { key: 'community', zh: '社区', en: 'Community', type: 'text', required: true, width: 16, note: { zh: '社区区划编码或社区名称', en: 'The community’s region code or name' } },
  { key: 'date', zh: '日期', en: 'Date', type: 'date', required: true, width: 12, note: { zh: 'YYYY-MM-DD；可补报以往日期，不能是将来的日期', en: 'YYYY-MM-DD; past days may be sent late, future days may not' } },
  { key: 'value', zh: '数值', en: 'Value', type: 'number', width: 10, note: { zh: '汇总行必填：计数为非负整数，百分比 0–100，浓度非负；明细行留空', en: 'Required on count rows: a whole number for counts, 0–100 for percentages, ≥ 0 for concentrations; empty on item rows' } },
  { key: 'itemId', zh: '明细编号', en: 'Item id', type: 'text', width: 16, note: { zh: '可选；填写则本行为一条明细（一人次），同一编号再次上传时更新而不重复', en: 'Optional; when filled the row is one line-list item, and uploading the same id again updates it' } },
  { key: 'ageBand', zh: '年龄段', en: 'Age band', type: 'text', width: 8, note: { zh: '明细可选，如 20-29、80+', en: 'Items, optional: e.g. 20-29, 80+' } },
  { key: 'sex', zh: '性别', en: 'Sex', type: 'code', width: 6, note: { zh: '明细可选：男 / 女', en: 'Items, optional: male / female (男 / 女)' } },
  { key: 'recentTravel', zh: '近期旅居史', en: 'Recent travel', type: 'code', width: 8, note: { zh: '明细可选：是 / 否（14 天内离开本区）', en: 'Items, optional: yes / no (left the district in the last 14 days)' } },
  { key: 'travelRegion', zh: '旅居地', en: 'Travel region', type: 'text', width: 12, note: { zh: '明细可选：省、市或国家', en: 'Items, optional: province, city or country' } },
  { key: 'daysSinceReturn', zh: '返回天数', en: 'Days since return', type: 'number', width: 8, note: { zh: '明细可选：0–365', en: 'Items, optional: 0–365' } },
  { key: 'status', zh: '状态', en: 'Status', type: 'code', width: 8, note: { zh: '明细可选：作废（entered-in-error）撤回该条明细', en: 'Items, optional: entered-in-error (作废) withdraws the item' } },
];

export const COLUMNS: Record<ImportKind, readonly ColumnDef[]> = { encounters: ENCOUNTER_COLUMNS, results: RESULT_COLUMNS, feeds: FEED_COLUMNS };

export const KIND_LABELS: Record<ImportKind, { zh: string; en: string }> = {
  encounters: { zh: '就诊记录', en: 'Encounters' },
  results: { zh: '检查检验结果', en: 'Results' },
  feeds: { zh: '监测数据', en: 'Surveillance feeds' },
};

/** Columns the error report appends after the clerk's own; ignored when the corrected report is uploaded again. */
export const REPORT_COLUMNS = [
  { key: 'errorRow', zh: '原行号', en: 'Original row' },
  { key: 'errorColumns', zh: '出错字段', en: 'Columns in error' },
  { key: 'errorReasons', zh: '错误原因', en: 'Reasons' },
] as const;

export function headerText(c: { key: string; zh: string }): string {
  return `${c.zh} (${c.key})`;
}

// Synthetic example rows (示例数据): identity numbers are built with a valid check character from the 999999
// region code that GB/T 2260 never assigns, names are placeholders, so nothing can be mistaken for a real person.
export const EXAMPLES: Record<ImportKind, Record<string, string>[]> = {
  encounters: [
    { sourceId: 'EXAMPLE-MZ-0001', idNumber: '999999198001010011', name: '示例甲', sex: '男', birthDate: '1980-01-01', phone: '', class: '门诊', startAt: '2024-03-05 09:30', endAt: '2024-03-05 09:50', department: '全科', diagnosisCodes: 'I10;E11.9', diagnosisNames: '原发性高血压;2型糖尿病', sbp: '148', dbp: '92', pulse: '76', temperature: '36.6', weight: '72.5', height: '170', fastingGlucose: '7.8', dischargeSummary: '' },
    { sourceId: 'EXAMPLE-ZY-0002', idNumber: '', name: '示例乙', sex: '女', birthDate: '1956-07-15', phone: '13800000000', class: 'inpatient', startAt: '2024-02-01 10:00', endAt: '2024-02-08 09:00', department: '心内科', diagnosisCodes: 'I20.0', diagnosisNames: '不稳定型心绞痛', sbp: '', dbp: '', pulse: '', temperature: '', weight: '', height: '', fastingGlucose: '', dischargeSummary: '（示例）患者住院 7 天，症状缓解后出院，嘱门诊随访。' },
  ],
  results: [
    { sourceId: 'EXAMPLE-LIS-0001', encounterSourceId: 'EXAMPLE-MZ-0001', idNumber: '999999198001010011', name: '示例甲', sex: '男', birthDate: '1980-01-01', phone: '', category: '检验', codeSystem: 'LOINC', code: '718-7', itemName: '血红蛋白', value: '138', unit: 'g/L', refLow: '130', refHigh: '175', resultAt: '2024-03-05 11:00' },
    { sourceId: 'EXAMPLE-PACS-0002', encounterSourceId: '', idNumber: '', name: '示例乙', sex: '女', birthDate: '1956-07-15', phone: '13800000000', category: 'imaging', codeSystem: '本地', code: 'CT-CHEST', itemName: '胸部CT', value: '（示例）双肺未见明显异常', unit: '', refLow: '', refHigh: '', resultAt: '2024-02-02 15:20' },
  ],
  feeds: [
    { sourceCode: 'pharmacy', categoryCode: 'antipyretic', community: '（示例）社区编码', date: '2024-03-05', value: '12', itemId: '', ageBand: '', sex: '', recentTravel: '', travelRegion: '', daysSinceReturn: '', status: '' },
    { sourceCode: '药店退热止咳药品销售', categoryCode: '止咳药', community: '（示例）社区名称', date: '2024-03-05', value: '', itemId: 'EXAMPLE-RX-0001', ageBand: '30-39', sex: '女', recentTravel: '是', travelRegion: '广东省', daysSinceReturn: '3', status: '' },
  ],
};

export const INSTRUCTIONS: Record<ImportKind, { zh: string[]; en: string[] }> = {
  encounters: {
    zh: [
      '每行一次就诊。“就诊记录编号”必填且在贵机构内唯一：同一编号再次导入时更新原记录，不会重复。',
      '居民身份：填写身份证号；无身份证号时填写姓名、性别、出生日期（建议同时填写联系电话）以匹配或建立居民档案。',
      '诊断编码与诊断名称以分号分隔、一一对应；体征各列可选，填写即记录为该次就诊的体征。',
      '时间为北京时间，格式 YYYY-MM-DD HH:mm；日期格式 YYYY-MM-DD。',
      '示例行（编号以 EXAMPLE 开头）为虚构数据，导入前请删除。',
      '导入后可下载“错误报告”：只含出错的行和原因，改正后可直接再次上传。',
    ],
    en: [
      'One row per encounter. “Encounter id” is required and unique within your institution: importing the same id again updates the record instead of duplicating it.',
      'Resident identity: the identity number; without it, name, sex and birth date (and preferably the phone) to match or register the resident.',
      'Diagnosis codes and names are separated by “;” and correspond one to one; the vital-sign columns are optional.',
      'Times are Beijing time, YYYY-MM-DD HH:mm; dates YYYY-MM-DD.',
      'The example rows (ids starting with EXAMPLE) are fictitious: delete them before importing.',
      'After an import, download the error report: it holds only the failed rows and why; correct them and upload the report again.',
    ],
  },
  results: {
    zh: [
      '每行一个检查检验结果项目。“结果编号”必填且在贵机构内唯一：同一编号再次导入时更新原结果。',
      '“就诊记录编号”可选，填写时须为已导入的就诊记录。',
      '编码体系填 LOINC 时项目编码须为有效的 LOINC 编码；其他编码请填“本地”。',
      '结果值为数值时记录为定量结果（可填单位与参考范围），否则记录为文字结果。',
      '示例行（编号以 EXAMPLE 开头）为虚构数据，导入前请删除。',
    ],
    en: [
      'One row per result item. “Result id” is required and unique within your institution: importing the same id again updates the result.',
      '“Encounter id” is optional; when given it must be an encounter you already imported.',
      'With code system LOINC the code must be a valid LOINC code; use “local” for your own codes.',
      'A numeric value is recorded as a quantity (with unit and reference range); anything else as text.',
      'The example rows (ids starting with EXAMPLE) are fictitious: delete them before importing.',
    ],
  },
  feeds: {
    zh: [
      '每行一条：不填“明细编号”时为某社区某日某类别的汇总数（如药店当日退热药销售数）；填写时为一条明细（一人次），汇总时每条计 1。',
      '同一机构、来源、类别、社区、日期的汇总数再次上传时替换原值（修订），不会重复累加；明细按编号更新，状态填“作废”即撤回。',
      '可补报以往日期；日期不能晚于今天（北京时间）。',
      '来源、类别可填编码或中文名称；社区可填区划编码或社区名称。',
      '明细只填年龄段、性别、旅居史等，不填姓名、电话、身份证号。',
      '示例行为虚构数据，导入前请删除。上传后可下载错误报告，改正后再次上传，已导入的行不会重复。',
    ],
    en: [
      'One row each: without an item id, the total of a day for a community, source and category (e.g. antipyretics a pharmacy sold); with an item id, one line-list item counting 1.',
      'Uploading a total again for the same institution, source, category, community and day replaces it (a correction), never adds to it; items update by their id, and status entered-in-error withdraws one.',
      'Past days may be sent late; no day after today (Beijing time).',
      'Sources and categories by code or Chinese name; communities by region code or name.',
      'Items carry age band, sex and travel only: no names, phones or identity numbers.',
      'The example rows are fictitious: delete them. After an upload, download the error report, correct it and upload it again: rows already in are not duplicated.',
    ],
  },
};
