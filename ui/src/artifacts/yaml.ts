// A small YAML reader for what MLflow writes (MLmodel, conda.yaml, python_env.yaml, configs): block
// mappings and sequences (PyYAML's indentless sequences too), plain / single / double quoted
// scalars over several lines (PyYAML folds long quoted strings), block scalars (`|`, `>`, with
// chomping), flow collections (`[a, b]`, `{k: v}`), comments, a leading `---`. Anchors, aliases,
// tags and complex keys are not supported: such input raises `YamlError` and the caller shows
// the text as it is. Only the first document is read.

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(`${message} (line ${line + 1})`);
    this.line = line;
  }
}

interface Line {
  indent: number;
  /** The content after the indentation (the raw remainder of the line). */
  text: string;
  /** The line's number in the source (0-based), for error messages. */
  no: number;
}

function isBlank(text: string): boolean {
  const t = text.trim();
  return t === "" || t.startsWith("#");
}

/** A plain scalar's value: null, booleans, numbers (YAML 1.1/1.2 core forms), else the string. */
export function plainScalar(raw: string): YamlValue {
  const s = raw.trim();
  if (s === "" || s === "~" || s === "null" || s === "Null" || s === "NULL") return null;
  if (s === "true" || s === "True" || s === "TRUE") return true;
  if (s === "false" || s === "False" || s === "FALSE") return false;
  if (/^[-+]?(0|[1-9][0-9_]*)$/.test(s)) return Number(s.replace(/_/g, ""));
  if (/^0x[0-9a-fA-F]+$/.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^0o[0-7]+$/.test(s)) return Number.parseInt(s.slice(2), 8);
  if (/^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s.replace(/_/g, ""));
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return Number.NaN;
  return s;
}

/** Removes a trailing ` # comment` from a plain scalar's text. */
function stripComment(text: string): string {
  const m = /(^|\s)#/.exec(text);
  return (m ? text.slice(0, m.index) : text).trimEnd();
}

/** Index of the `:` that ends a mapping key in `text` (followed by a space or the end), or -1. */
function keyColon(text: string): number {
  let i = 0;
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text, 0);
    if (end < 0) return -1;
    i = end + 1;
    while (i < text.length && text[i] === " ") i += 1;
    return text[i] === ":" && (i + 1 === text.length || text[i + 1] === " ") ? i : -1;
  }
  if (text.startsWith("[") || text.startsWith("{") || text.startsWith("#")) return -1;
  for (; i < text.length; i += 1) {
    if (text[i] === ":" && (i + 1 === text.length || text[i + 1] === " " || text[i + 1] === "\t")) return i;
    if (text[i] === "#" && i > 0 && (text[i - 1] === " " || text[i - 1] === "\t")) return -1;
  }
  return -1;
}

/** Index of the quote closing the quoted scalar that starts at `start`, within one string, or -1. */
function quotedEnd(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i += 1) {
    const c = text[i];
    if (q === "'" && c === "'") {
      if (text[i + 1] === "'") {
        i += 1;
        continue;
      }
      return i;
    }
    if (q === '"' && c === "\\") {
      i += 1;
      continue;
    }
    if (q === '"' && c === '"') return i;
  }
  return -1;
}

/** Folds the lines of a multi-line flow scalar: a single break becomes a space, empty lines breaks. */
function fold(parts: string[]): string {
  let out = "";
  let pendingBreaks = 0;
  parts.forEach((part, index) => {
    const piece = index === 0 ? part.trimEnd() : index === parts.length - 1 ? part.trimStart() : part.trim();
    if (index > 0 && piece === "" && index < parts.length - 1) {
      pendingBreaks += 1;
      return;
    }
    if (index > 0) out += pendingBreaks > 0 ? "\n".repeat(pendingBreaks) : " ";
    pendingBreaks = 0;
    out += piece;
  });
  return out;
}

const ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\u0085",
  _: "\u00a0",
  L: "\u2028",
  P: "\u2029",
};

function unescapeDouble(body: string, line: number): string {
  let out = "";
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i] ?? "";
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[i + 1] ?? "";
    const hex = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    if (hex > 0) {
      const code = body.slice(i + 2, i + 2 + hex);
      if (!/^[0-9a-fA-F]+$/.test(code) || code.length !== hex) throw new YamlError("bad escape", line);
      out += String.fromCodePoint(Number.parseInt(code, 16));
      i += 1 + hex;
    } else if (e in ESCAPES) {
      out += ESCAPES[e];
      i += 1;
    } else {
      throw new YamlError(`unknown escape \\${e}`, line);
    }
  }
  return out;
}

/** The value of a complete quoted scalar (quotes included in `text`). */
function quotedValue(text: string, line: number): string {
  const body = text.slice(1, -1);
  if (text[0] === "'") return body.replace(/''/g, "'");
  return unescapeDouble(body, line);
}

/** Parses a flow collection or scalar (`[1, 'a', {k: v}]`) from one string. */
class FlowParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly line: number,
  ) {}

  parseAll(): YamlValue {
    const v = this.value();
    this.space();
    if (this.i < this.s.length && !this.s.slice(this.i).trimStart().startsWith("#")) {
      throw new YamlError("unexpected text after a flow collection", this.line);
    }
    return v;
  }

  private space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] ?? "")) this.i += 1;
  }

  private value(): YamlValue {
    this.space();
    const c = this.s[this.i];
    if (c === "[") return this.sequence();
    if (c === "{") return this.mapping();
    if (c === "'" || c === '"') {
      const end = quotedEnd(this.s, this.i);
      if (end < 0) throw new YamlError("unterminated quoted string", this.line);
      const text = this.s.slice(this.i, end + 1);
      this.i = end + 1;
      return quotedValue(text, this.line);
    }
    const start = this.i;
    while (this.i < this.s.length) {
      const ch = this.s[this.i];
      if (ch === "," || ch === "]" || ch === "}") break;
      if (ch === ":" && /[\s,\]}]/.test(this.s[this.i + 1] ?? " ")) break;
      this.i += 1;
    }
    return plainScalar(this.s.slice(start, this.i));
  }

  private sequence(): YamlValue[] {
    this.i += 1;
    const out: YamlValue[] = [];
    for (;;) {
      this.space();
      if (this.s[this.i] === "]") {
        this.i += 1;
        return out;
      }
      const item = this.value();
      this.space();
      if (this.s[this.i] === ":") {
        this.i += 1;
        out.push({ [String(item)]: this.value() });
        this.space();
      } else {
        out.push(item);
      }
      if (this.s[this.i] === ",") this.i += 1;
      else if (this.s[this.i] !== "]") throw new YamlError("expected , or ] in a flow sequence", this.line);
    }
  }

  private mapping(): { [key: string]: YamlValue } {
    this.i += 1;
    const out: { [key: string]: YamlValue } = {};
    for (;;) {
      this.space();
      if (this.s[this.i] === "}") {
        this.i += 1;
        return out;
      }
      const key = this.value();
      this.space();
      let value: YamlValue = null;
      if (this.s[this.i] === ":") {
        this.i += 1;
        value = this.value();
        this.space();
      }
      out[key === null ? "null" : String(key)] = value;
      if (this.s[this.i] === ",") this.i += 1;
      else if (this.s[this.i] !== "}") throw new YamlError("expected , or } in a flow mapping", this.line);
    }
  }
}

/** True when the brackets of a flow collection opened in `text` are all closed (quotes respected). */
function flowClosed(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = quotedEnd(text, i);
      if (end < 0) return false;
      i = end;
    } else if (c === "[" || c === "{") depth += 1;
    else if (c === "]" || c === "}") depth -= 1;
  }
  return depth <= 0;
}

class BlockParser {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  parseDocument(): YamlValue {
    this.skipBlank();
    const first = this.lines[this.i];
    if (first && first.indent === 0 && /^---(\s|$)/.test(first.text)) {
      const rest = first.text.slice(3).trim();
      if (rest && !rest.startsWith("#")) {
        // `--- value` on the document line
        first.text = rest;
      } else {
        this.i += 1;
      }
    }
    this.skipBlank();
    const line = this.lines[this.i];
    if (!line || this.isDocumentEnd(line)) return null;
    const value = this.block(line.indent);
    this.skipBlank();
    const after = this.lines[this.i];
    if (after && !this.isDocumentEnd(after)) throw new YamlError("unexpected indentation", after.no);
    return value;
  }

  private isDocumentEnd(line: Line): boolean {
    return line.indent === 0 && (/^---(\s|$)/.test(line.text) || /^\.\.\.(\s|$)/.test(line.text));
  }

  private skipBlank(): void {
    while (this.i < this.lines.length && isBlank(this.lines[this.i]?.text ?? "")) this.i += 1;
  }

  private peek(): Line | undefined {
    this.skipBlank();
    const line = this.lines[this.i];
    return line && !this.isDocumentEnd(line) ? line : undefined;
  }

  /** The node starting at the current line, whose lines are indented `indent`. */
  private block(indent: number): YamlValue {
    const line = this.peek();
    if (!line) return null;
    if (line.text === "-" || line.text.startsWith("- ")) return this.sequence(line.indent);
    if (keyColon(line.text) >= 0) return this.mapping(line.indent);
    return this.scalarAt(line, indent - 1);
  }

  private sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (;;) {
      const line = this.peek();
      if (!line || line.indent !== indent || !(line.text === "-" || line.text.startsWith("- "))) break;
      const rest = line.text.slice(1);
      const content = rest.trimStart();
      if (content === "" || content.startsWith("#")) {
        this.i += 1;
        const next = this.peek();
        out.push(next && next.indent > indent ? this.block(next.indent) : null);
        continue;
      }
      // The item's content continues as a node indented at its own column: `- key: v` is a mapping.
      line.indent = indent + 1 + (rest.length - content.length);
      line.text = content;
      out.push(this.block(line.indent));
    }
    return out;
  }

  private mapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    for (;;) {
      const line = this.peek();
      if (!line || line.indent !== indent) break;
      if (line.text === "-" || line.text.startsWith("- ")) break;
      const colon = keyColon(line.text);
      if (colon < 0) throw new YamlError("expected a key", line.no);
      const rawKey = line.text.slice(0, colon).trim();
      const key =
        rawKey.startsWith("'") || rawKey.startsWith('"') ? quotedValue(rawKey, line.no) : String(plainScalar(rawKey));
      const rest = line.text.slice(colon + 1);
      const valueText = rest.trim();
      if (valueText === "" || valueText.startsWith("#")) {
        this.i += 1;
        const next = this.peek();
        if (next && next.indent > indent) out[key] = this.block(next.indent);
        else if (next && next.indent === indent && (next.text === "-" || next.text.startsWith("- "))) {
          out[key] = this.sequence(indent);
        } else out[key] = null;
        continue;
      }
      line.text = valueText;
      line.indent = indent + colon + 1 + (rest.length - rest.trimStart().length);
      out[key] = this.scalarAt(line, indent);
    }
    return out;
  }

  /** A scalar (or flow collection) starting on `line`; continuation lines must be indented more
   * than `parentIndent`. Consumes its lines. */
  private scalarAt(line: Line, parentIndent: number): YamlValue {
    const text = line.text;
    const first = text[0];
    if (first === "&" || first === "*" || first === "!" || first === "?") {
      throw new YamlError("anchors, aliases, tags and complex keys are not supported", line.no);
    }
    if (first === "|" || first === ">") return this.blockScalar(line, parentIndent);
    if (first === "'" || first === '"') {
      const parts = [text];
      let joined = text;
      this.i += 1;
      while (quotedEnd(joined, 0) < 0) {
        const next = this.lines[this.i];
        if (!next) throw new YamlError("unterminated quoted string", line.no);
        parts.push(next.text);
        joined = parts.join("\n");
        this.i += 1;
      }
      const end = quotedEnd(joined, 0);
      const after = joined.slice(end + 1).trim();
      if (after && !after.startsWith("#")) throw new YamlError("unexpected text after a quoted string", line.no);
      const inner = joined.slice(1, end);
      const folded = fold(inner.split("\n"));
      return first === "'" ? folded.replace(/''/g, "'") : unescapeDouble(folded, line.no);
    }
    if (first === "[" || first === "{") {
      let joined = text;
      this.i += 1;
      while (!flowClosed(joined)) {
        const next = this.lines[this.i];
        if (!next) throw new YamlError("unterminated flow collection", line.no);
        joined += ` ${next.text}`;
        this.i += 1;
      }
      return new FlowParser(joined, line.no).parseAll();
    }
    const parts = [stripComment(text)];
    this.i += 1;
    for (;;) {
      const next = this.lines[this.i];
      if (!next || this.isDocumentEnd(next)) break;
      if (next.text.trim() === "") {
        parts.push("");
        this.i += 1;
        continue;
      }
      if (next.indent <= parentIndent || next.text.trimStart().startsWith("#")) break;
      if (keyColon(next.text) >= 0 || next.text.startsWith("- ")) break;
      parts.push(stripComment(next.text));
      this.i += 1;
    }
    while (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
    return parts.length === 1 ? plainScalar(parts[0] ?? "") : fold(parts);
  }

  private blockScalar(line: Line, parentIndent: number): string {
    const header = stripComment(line.text);
    const literal = header[0] === "|";
    const chomp = header.includes("-") ? "strip" : header.includes("+") ? "keep" : "clip";
    const explicit = /[1-9]/.exec(header);
    this.i += 1;
    const body: string[] = [];
    let contentIndent = explicit ? parentIndent + Number(explicit[0]) : -1;
    while (this.i < this.lines.length) {
      const next = this.lines[this.i];
      if (!next) break;
      const empty = next.text.trim() === "";
      if (!empty) {
        if (contentIndent < 0) contentIndent = next.indent;
        if (next.indent < contentIndent || next.indent <= parentIndent) break;
      }
      body.push(empty ? "" : " ".repeat(next.indent - contentIndent) + next.text);
      this.i += 1;
    }
    let trailing = 0;
    while (body.length > 0 && body[body.length - 1] === "") {
      body.pop();
      trailing += 1;
    }
    let text: string;
    if (literal) {
      text = body.join("\n");
    } else {
      text = "";
      body.forEach((piece, index) => {
        const previous = body[index - 1];
        if (index === 0) text = piece;
        else if (piece === "") text += "\n";
        else if (previous === "") text += piece;
        else if (piece.startsWith(" ") || previous?.startsWith(" ")) text += `\n${piece}`;
        else text += ` ${piece}`;
      });
    }
    if (body.length === 0) return chomp === "keep" ? "\n".repeat(trailing) : "";
    if (chomp === "strip") return text;
    if (chomp === "keep") return `${text}\n${"\n".repeat(trailing)}`;
    return `${text}\n`;
  }
}

/** The first YAML document of `text` as plain values. Raises `YamlError` on what it does not read. */
export function parseYaml(text: string): YamlValue {
  const lines: Line[] = text
    .replace(/^\ufeff/, "")
    .split(/\r?\n/)
    .map((raw, no) => {
      if (/^\s*\t/.test(raw) && raw.trim() !== "") {
        const indentPart = /^[ \t]*/.exec(raw)?.[0] ?? "";
        if (indentPart.includes("\t")) throw new YamlError("tabs are not allowed in indentation", no);
      }
      const indent = raw.length - raw.trimStart().length;
      return { indent, text: raw.slice(indent).trimEnd(), no };
    });
  return new BlockParser(lines).parseDocument();
}
