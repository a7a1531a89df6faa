// Record linkage for records that arrive without an identity number: a deterministic, explainable score over
// name, birth date, sex and phone (Fellegi–Sunter style agreement weights, fixed rather than estimated, so a clerk can
// read why two records were paired). Thresholds: at or above AUTO_LINK the records are linked; between REVIEW and
// AUTO_LINK a person decides in the review queue; below REVIEW a new resident is created.
export const MATCH_DEFAULTS = Object.freeze({
  weights: { name: 0.35, birthDate: 0.3, sex: 0.1, phone: 0.25 },
  autoLink: 0.95,
  review: 0.6,
});

export interface MatchInput {
  name: string;
  birthDate: string;
  sex: 'male' | 'female';
  phone?: string | null;
}

export interface Candidate {
  id: number;
  name: string;
  birthDate: string;
  sex: 'male' | 'female';
  /** whether the candidate's stored phone hash equals the incoming phone's hash */
  phoneMatches: boolean | null;
}

export type MatchReason = 'name_exact' | 'name_similar' | 'birth_date' | 'birth_date_transposed' | 'sex' | 'phone';

export interface ScoredCandidate {
  id: number;
  score: number;
  reasons: MatchReason[];
}

/** Normalises a Chinese or Latin name: no spaces or middle dots, Latin letters lower-cased. */
export function normaliseName(name: string): string {
  return name.normalize('NFKC').replace(/[\s·・.\-]/g, '').toLowerCase();
}

/** Levenshtein distance over code points (Chinese characters count as one each). */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}

export function scoreCandidate(input: MatchInput, c: Candidate, w = MATCH_DEFAULTS.weights): ScoredCandidate {
  const reasons: MatchReason[] = [];
  let score = 0;
  const a = normaliseName(input.name);
  const b = normaliseName(c.name);
  if (a === b) {
    score += w.name;
    reasons.push('name_exact');
  } else if (editDistance(a, b) === 1 && Math.min([...a].length, [...b].length) >= 2) {
    // one character differs: a homophone or a typing slip (张伟 / 张玮)
    score += w.name * 0.6;
    reasons.push('name_similar');
  }
  if (input.birthDate === c.birthDate) {
    score += w.birthDate;
    reasons.push('birth_date');
  } else if (isDayMonthSwap(input.birthDate, c.birthDate)) {
    score += w.birthDate * 0.5;
    reasons.push('birth_date_transposed');
  }
  if (input.sex === c.sex) {
    score += w.sex;
    reasons.push('sex');
  }
  if (c.phoneMatches) {
    score += w.phone;
    reasons.push('phone');
  }
  return { id: c.id, score: Math.round(score * 1000) / 1000, reasons };
}

function isDayMonthSwap(a: string, b: string): boolean {
  const [ya, ma, da] = a.split('-');
  const [yb, mb, db] = b.split('-');
  return ya === yb && ma === db && da === mb && ma !== da;
}

export type MatchDecision = { kind: 'link'; candidate: ScoredCandidate } | { kind: 'review'; candidate: ScoredCandidate } | { kind: 'new' };

export function decideMatch(input: MatchInput, candidates: Candidate[], t = MATCH_DEFAULTS): MatchDecision {
  const scored = candidates.map((c) => scoreCandidate(input, c, t.weights)).sort((p, q) => q.score - p.score || p.id - q.id);
  const best = scored[0];
  if (!best || best.score < t.review) return { kind: 'new' };
  // Two equally good candidates are never linked automatically.
  const tie = scored[1] && scored[1].score === best.score;
  if (best.score >= t.autoLink && !tie) return { kind: 'link', candidate: best };
  return { kind: 'review', candidate: best };
}
