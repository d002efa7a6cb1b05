// Line-by-line syntax colouring for the JSON and YAML previews: each line becomes tokens with a
// class (key, string, number, literal, comment, punctuation). Pure, so the text viewer can colour
// only the lines on screen.

export type TokenKind = "key" | "string" | "number" | "literal" | "comment" | "punct" | "plain";

export interface Token {
  text: string;
  kind: TokenKind;
}

const JSON_TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|\b(true|false|null|NaN|-?Infinity)\b|([{}[\],:])|(\s+)|(.)/g;

/** Tokens of one line of pretty-printed JSON. */
export function jsonLine(line: string): Token[] {
  const out: Token[] = [];
  for (const m of line.matchAll(JSON_TOKEN)) {
    if (m[1] !== undefined) {
      out.push({ text: m[1], kind: m[2] !== undefined ? "key" : "string" });
      if (m[2] !== undefined) out.push({ text: m[2], kind: "punct" });
    } else if (m[3] !== undefined) out.push({ text: m[3], kind: "number" });
    else if (m[4] !== undefined) out.push({ text: m[4], kind: "literal" });
    else if (m[5] !== undefined) out.push({ text: m[5], kind: "punct" });
    else out.push({ text: m[0], kind: "plain" });
  }
  return merge(out);
}

function scalarKind(text: string): TokenKind {
  const t = text.trim();
  if (/^(true|false|null|~|True|False|Null|NULL|TRUE|FALSE)$/.test(t)) return "literal";
  if (/^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t) || /^[-+]?\.(inf|nan)$/i.test(t)) return "number";
  if (/^['"]/.test(t)) return "string";
  return "plain";
}

/** Tokens of one line of YAML (keys, list dashes, scalars, comments; good enough for display). */
export function yamlLine(line: string): Token[] {
  const out: Token[] = [];
  const indent = /^\s*/.exec(line)?.[0] ?? "";
  if (indent) out.push({ text: indent, kind: "plain" });
  let rest = line.slice(indent.length);
  if (rest.startsWith("#")) return [...out, { text: rest, kind: "comment" }];
  while (rest.startsWith("- ") || rest === "-") {
    out.push({ text: rest.slice(0, 2), kind: "punct" });
    rest = rest.slice(2);
  }
  const key = /^((?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[][^:#]*?))(\s*:)(?=\s|$)/.exec(rest);
  if (key) {
    out.push({ text: key[1] ?? "", kind: "key" });
    out.push({ text: key[2] ?? "", kind: "punct" });
    rest = rest.slice(key[0].length);
  }
  const comment = /(^|\s)#.*$/.exec(rest);
  const value = comment ? rest.slice(0, comment.index + (comment[1]?.length ?? 0)) : rest;
  if (value) out.push({ text: value, kind: scalarKind(value) });
  if (comment) out.push({ text: comment[0].slice(comment[1]?.length ?? 0), kind: "comment" });
  return merge(out);
}

function merge(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (last && last.kind === t.kind && t.kind !== "key") last.text += t.text;
    else out.push({ ...t });
  }
  return out;
}
