// The filter box's logic, pure (no React, no I/O): a light tokenizer of MLflow's search language
// (the same lexical rules as the server's parser), quoting of keys, and reading a server error
// (`INVALID_PARAMETER_VALUE`, "... at column N ...") back into the span of the filter to mark and
// the runs-table column the offending comparison is about.

export type TokenKind = "ident" | "num" | "sq" | "dq" | "bq" | "op" | "punct";

export interface Token {
  kind: TokenKind;
  text: string;
  /** 0-based offset of the first character. */
  start: number;
  end: number;
}

// The server's lexer (runyard.domain.search_filter._TOKEN_RE), in JavaScript's Unicode syntax.
const TOKEN_RE =
  /(\s+)|(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)|([\p{L}\p{M}_][\p{L}\p{M}\p{N}_]*(?:\.[\p{L}\p{M}\p{N}_.]+)?)|('(?:[^'\\]|\\.|'')*')|("(?:[^"\\]|\\.|"")*")|(`(?:[^`]|``)*`)|(!=|<=|>=|<>|==|=|<|>|!)|([(),.])/suy;
const KINDS: (TokenKind | "ws")[] = ["ws", "num", "ident", "sq", "dq", "bq", "op", "punct"];

export interface Tokenized {
  tokens: Token[];
  /** Where the text stops being lexable (an unknown character, an unclosed quote), else null. */
  errorAt: number | null;
}

export function tokenize(text: string): Tokenized {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(text);
    if (!m) return { tokens, errorAt: pos };
    const group = m.findIndex((g, i) => i > 0 && g !== undefined);
    const kind = KINDS[group - 1] ?? "punct";
    if (kind !== "ws") tokens.push({ kind, text: m[0], start: pos, end: pos + m[0].length });
    pos += m[0].length;
  }
  return { tokens, errorAt: null };
}

// ------------------------------------------------------------------------------ keys and columns

export type EntityKind = "attribute" | "metric" | "param" | "tag" | "dataset";

/** Every prefix the server accepts for runs, to the entity it names. */
export const RUN_PREFIXES: Readonly<Record<string, EntityKind>> = {
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
  metric: "metric",
  metrics: "metric",
  param: "param",
  params: "param",
  parameter: "param",
  parameters: "param",
  tag: "tag",
  tags: "tag",
  dataset: "dataset",
  datasets: "dataset",
};

/** The runs-table column an attribute of the filter language is shown in. */
export const ATTRIBUTE_TO_COLUMN: Readonly<Record<string, string>> = {
  run_name: "name",
  "run name": "name",
  "Run name": "name",
  "Run Name": "name",
  run_id: "name",
  status: "status",
  start_time: "start_time",
  created: "start_time",
  Created: "start_time",
  end_time: "duration",
  user_id: "user",
};

const PLURAL: Record<"metric" | "param" | "tag", string> = { metric: "metrics", param: "params", tag: "tags" };

const BARE_KEY = /^[\p{L}\p{M}\p{N}_]+(?:\.[\p{L}\p{M}\p{N}_]+)*$/u;

/** A key as the filter language writes it: bare when it can be, else in backticks (or double
 *  quotes when it holds a backtick: quoted text has no escapes). */
export function quoteKey(key: string, always = false): string {
  if (!always && BARE_KEY.test(key)) return key;
  if (!key.includes("`")) return `\`${key}\``;
  return `"${key}"`;
}

/** `metrics.loss`, ``params.`batch size` ``: a key with its prefix, for a filter. */
export function keyRef(kind: "metric" | "param" | "tag", key: string, always = false): string {
  return `${PLURAL[kind]}.${quoteKey(key, always)}`;
}

/** A string value in single quotes (the language has no escapes: a value holding `'` goes in
 *  double quotes). */
export function quoteValue(value: string): string {
  return value.includes("'") && !value.includes('"') ? `"${value}"` : `'${value}'`;
}

/** One `<identifier> <op> <value>` term of the filter, as far as a light parse can tell. */
export interface Term {
  start: number;
  end: number;
  /** The identifier's span. */
  identStart: number;
  identEnd: number;
  entity: EntityKind | null;
  /** The prefix as written (`metric`, `tags`), or null for a bare attribute. */
  prefix: string | null;
  key: string;
}

function unquote(token: Token): string {
  return token.kind === "bq" || token.kind === "dq" || token.kind === "sq" ? token.text.slice(1, -1) : token.text;
}

function readIdentifier(tokens: Token[], i: number): { prefix: string | null; key: string; next: number; end: number } | null {
  const t = tokens[i];
  if (!t) return null;
  if (t.kind === "ident") {
    const dot = t.text.indexOf(".");
    if (dot > 0) return { prefix: t.text.slice(0, dot), key: t.text.slice(dot + 1), next: i + 1, end: t.end };
    const d = tokens[i + 1];
    const k = tokens[i + 2];
    if (d?.text === "." && d.start === t.end && k && k.start === d.end && k.kind !== "op" && k.kind !== "punct") {
      return { prefix: t.text, key: unquote(k), next: i + 3, end: k.end };
    }
    return { prefix: null, key: t.text, next: i + 1, end: t.end };
  }
  if (t.kind === "bq" || t.kind === "dq") {
    const d = tokens[i + 1];
    const k = tokens[i + 2];
    if (t.kind === "bq" && d?.text === "." && d.start === t.end && k && k.start === d.end) {
      return { prefix: unquote(t), key: unquote(k), next: i + 3, end: k.end };
    }
    return { prefix: null, key: unquote(t), next: i + 1, end: t.end };
  }
  return null;
}

/** The filter's terms (split at AND outside parentheses), each with its identifier. */
export function terms(text: string): Term[] {
  const { tokens } = tokenize(text);
  const out: Term[] = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i];
    if (!first) break;
    let j = i;
    let depth = 0;
    while (j < tokens.length) {
      const t = tokens[j];
      if (!t) break;
      if (t.text === "(") depth += 1;
      if (t.text === ")") depth = Math.max(0, depth - 1);
      if (depth === 0 && t.kind === "ident" && t.text.toUpperCase() === "AND" && j > i) break;
      j += 1;
    }
    const last = tokens[j - 1] ?? first;
    const id = readIdentifier(tokens, i);
    const prefix = id?.prefix ?? null;
    const entity = prefix === null ? "attribute" : (RUN_PREFIXES[prefix] ?? null);
    out.push({
      start: first.start,
      end: last.end,
      identStart: first.start,
      identEnd: id?.end ?? first.end,
      entity: id ? entity : null,
      prefix,
      key: id?.key ?? first.text,
    });
    i = j + 1; // skip the AND
  }
  return out;
}

/** The runs-table column id a term is about (`metrics.loss`, `status`), or null. */
export function termColumn(term: Term): string | null {
  switch (term.entity) {
    case "metric":
      return `metrics.${term.key}`;
    case "param":
      return `params.${term.key}`;
    case "tag":
      return `tags.${term.key}`;
    case "attribute":
      return ATTRIBUTE_TO_COLUMN[term.key] ?? null;
    case "dataset":
      return "datasets";
    default:
      return null;
  }
}

// ------------------------------------------------------------------------------- server errors

export interface FilterProblem {
  /** The span of the filter to mark (end === start: a caret at the end). */
  start: number;
  end: number;
  /** The runs-table column the offending term is about, if any. */
  column: string | null;
  /** A rewritten filter that fixes the problem (a key quoted with backticks), if one is obvious. */
  fix: string | null;
}

const COLUMN_RE = /at column (\d+)/;
const LABEL_RE = /for ((?:metrics?|params?|parameters?|tags?|attributes?)\.(?:`[^`]*`|"[^"]*"|[^\s;,]+))/;

/** Where a server error about `filter` points: the token at the column it names (or the term
 *  whose label it names), the column that term is about, and a quoting fix for a key with a
 *  special character. Null when the message names no place in the filter. */
export function locateError(filter: string, message: string): FilterProblem | null {
  const tk = tokenize(filter);
  const col = COLUMN_RE.exec(message);
  const all = terms(filter);
  if (col) {
    const pos = Math.min(Math.max(0, Number(col[1]) - 1), filter.length);
    let start = pos;
    let end = pos;
    const token = tk.tokens.find((t) => t.start <= pos && pos < t.end);
    if (token) {
      start = token.start;
      end = token.end;
    } else if (pos < filter.length) {
      end = pos + 1;
    }
    if (/unterminated/.test(message)) end = filter.length;
    const fix = /unexpected character/.test(message) ? quoteFix(filter, pos) : null;
    let column: string | null = null;
    if (fix) {
      const word = wordAround(filter, pos);
      start = word.start;
      end = word.end;
      const fixed = terms(fix).find((t) => t.start <= start && start < t.end);
      column = fixed ? termColumn(fixed) : null;
    } else if (!token || !/^(AND|OR|NOT)$/i.test(token.text)) {
      // The term the position falls in: the last one starting at or before it.
      const term = all.filter((t) => t.start <= pos).at(-1);
      column = term ? termColumn(term) : null;
    }
    return { start, end, column, fix };
  }
  const label = LABEL_RE.exec(message);
  if (label?.[1]) {
    const named = terms(label[1])[0];
    const wanted = named ? termColumn(named) : null;
    const term = all.find((t) => termColumn(t) === wanted);
    if (term) return { start: term.identStart, end: term.identEnd, column: wanted, fix: null };
  }
  return null;
}

function wordAround(text: string, pos: number): { start: number; end: number } {
  const stop = /[\s=!<>(),'"]/;
  let start = pos;
  while (start > 0 && !stop.test(text[start - 1] ?? " ")) start -= 1;
  let end = pos;
  while (end < text.length && !stop.test(text[end] ?? " ")) end += 1;
  return { start, end };
}

/** `tags.weird-key = 'x'` with the error at `-`: ``tags.`weird-key` = 'x'``. Null when the
 *  character is not inside a `prefix.key` word. */
export function quoteFix(filter: string, pos: number): string | null {
  const { start, end } = wordAround(filter, pos);
  const word = filter.slice(start, end);
  const dot = word.indexOf(".");
  if (dot <= 0 || pos - start <= dot) return null;
  const prefix = word.slice(0, dot);
  if (!(prefix in RUN_PREFIXES)) return null;
  const key = word.slice(dot + 1);
  if (key.startsWith("`") || key === "") return null;
  return `${filter.slice(0, start)}${prefix}.${quoteKey(key, true)}${filter.slice(end)}`;
}

export interface KnownKeys {
  metrics: ReadonlySet<string>;
  params: ReadonlySet<string>;
  tags: ReadonlySet<string>;
}

/** Terms naming a metric, param or tag key that no loaded run has (a valid filter that cannot
 *  match: most likely a typo). */
export function unknownKeyTerms(filter: string, known: KnownKeys): Term[] {
  return terms(filter).filter((t) => {
    if (t.entity === "metric") return !known.metrics.has(t.key);
    if (t.entity === "param") return !known.params.has(t.key);
    if (t.entity === "tag") return !known.tags.has(t.key);
    return false;
  });
}
