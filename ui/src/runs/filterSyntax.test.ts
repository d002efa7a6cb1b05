import { describe, expect, it } from "vitest";
import { keyRef, locateError, quoteFix, quoteKey, quoteValue, terms, tokenize, unknownKeyTerms } from "./filterSyntax";

// Messages as Runyard's server writes them (runyard.domain.search_filter).
const msg = (filter: string, detail: string) => `Invalid filter '${filter}': ${detail}`;

describe("tokenize", () => {
  it("splits identifiers, operators, numbers and quoted text", () => {
    const { tokens, errorAt } = tokenize("metrics.loss < 0.5 AND params.`batch size` = '32'");
    expect(errorAt).toBeNull();
    expect(tokens.map((t) => [t.kind, t.text])).toEqual([
      ["ident", "metrics.loss"],
      ["op", "<"],
      ["num", "0.5"],
      ["ident", "AND"],
      ["ident", "params"],
      ["punct", "."],
      ["bq", "`batch size`"],
      ["op", "="],
      ["sq", "'32'"],
    ]);
    expect(tokens[6]).toMatchObject({ start: 30, end: 42 });
  });
  it("stops at a character the language does not have", () => {
    expect(tokenize("tags.weird-key = 'x'").errorAt).toBe(10);
    expect(tokenize("name LIKE 'a").errorAt).toBe(10);
  });
});

describe("quoting keys", () => {
  it("leaves plain keys bare and backquotes the rest", () => {
    expect(quoteKey("loss")).toBe("loss");
    expect(quoteKey("val.loss")).toBe("val.loss");
    expect(quoteKey("val/loss")).toBe("`val/loss`");
    expect(quoteKey("batch size")).toBe("`batch size`");
    expect(quoteKey("a-b")).toBe("`a-b`");
    expect(quoteKey("odd`key")).toBe('"odd`key"');
    expect(quoteKey("loss", true)).toBe("`loss`");
    expect(quoteKey("")).toBe("``");
  });
  it("writes prefixed keys and values", () => {
    expect(keyRef("metric", "val/loss")).toBe("metrics.`val/loss`");
    expect(keyRef("param", "lr")).toBe("params.lr");
    expect(keyRef("tag", "mlflow.user")).toBe("tags.mlflow.user");
    expect(quoteValue("adam")).toBe("'adam'");
    expect(quoteValue("it's")).toBe(`"it's"`);
  });
});

describe("terms", () => {
  it("reads each comparison's identifier", () => {
    const t = terms("metric.loss > 1 AND params.`batch size` IN ('1', '2') and status = 'FINISHED' AND `tags`.`a b` = 'x'");
    expect(t.map((x) => [x.entity, x.key])).toEqual([
      ["metric", "loss"],
      ["param", "batch size"],
      ["attribute", "status"],
      ["tag", "a b"],
    ]);
    expect(t[0]).toMatchObject({ start: 0, end: 15, identStart: 0, identEnd: 11 });
  });
  it("keeps AND inside an IN list and reads unknown prefixes", () => {
    const t = terms("params.x IN ('AND', 'b') AND foo.bar = 1");
    expect(t).toHaveLength(2);
    expect(t[1]).toMatchObject({ entity: null, prefix: "foo", key: "bar" });
  });
});

describe("locateError", () => {
  it("marks a bad value and names its column", () => {
    const f = "metrics.loss < 'abc'";
    const p = locateError(f, msg(f, "unexpected token 'abc' at column 16; expected a number for metrics.loss"));
    expect(p).toMatchObject({ start: 15, end: 20, column: "metrics.loss", fix: null });
  });
  it("marks the end of a truncated filter", () => {
    const f = "params.lr = '1' AND metrics.loss <";
    const p = locateError(f, msg(f, "unexpected end of input at column 35; expected a number for metrics.loss"));
    expect(p).toMatchObject({ start: 34, end: 34, column: "metrics.loss" });
  });
  it("marks an unknown attribute in a later term", () => {
    const f = "metric.loss > 1 AND foo = 1";
    const p = locateError(f, msg(f, "unknown attribute 'foo' at column 21; runs filters accept ..."));
    expect(p).toMatchObject({ start: 20, end: 23, column: null });
  });
  it("maps attributes to their columns", () => {
    const f = "status = 1";
    const p = locateError(f, msg(f, "unexpected token '1' at column 10; expected a quoted string for attribute 'status'"));
    expect(p).toMatchObject({ start: 9, end: 10, column: "status" });
  });
  it("marks a whole unknown prefix identifier", () => {
    const f = "metricz.loss > 1";
    const p = locateError(f, msg(f, "unknown entity prefix 'metricz' at column 1; runs accept ..."));
    expect(p).toMatchObject({ start: 0, end: 12, column: null });
  });
  it("offers backticks for a key with a special character", () => {
    const f = "tags.weird-key = 'x' AND metrics.a > 1";
    const p = locateError(f, msg(f, "unexpected character '-' at column 11 (quote keys containing special characters with backticks, e.g. metrics.`my-key`)"));
    expect(p).toMatchObject({ start: 0, end: 14, column: "tags.weird-key", fix: "tags.`weird-key` = 'x' AND metrics.a > 1" });
  });
  it("marks an unterminated string to the end", () => {
    const f = "params.a = 'x";
    const p = locateError(f, msg(f, "unterminated quoted text: token ' at column 12 has no closing '"));
    expect(p).toMatchObject({ start: 11, end: 13, column: "params.a" });
  });
  it("does not blame a column for OR", () => {
    const f = "metrics.a > 1 OR metrics.b > 1";
    const p = locateError(f, msg(f, "unsupported token 'OR' at column 15; only AND is supported"));
    expect(p).toMatchObject({ start: 14, end: 16, column: null });
  });
  it("falls back to a label the message names", () => {
    const f = "metrics.`val/loss` > 'x'";
    const p = locateError(f, "Invalid value for metrics.`val/loss`");
    expect(p).toMatchObject({ start: 0, end: 18, column: "metrics.val/loss" });
  });
  it("gives up on messages that name no place", () => {
    expect(locateError("a = 1", "Something went wrong")).toBeNull();
  });
});

describe("quoteFix", () => {
  it("quotes the key around the position only after a known prefix", () => {
    expect(quoteFix("params.my-lr = '1'", 9)).toBe("params.`my-lr` = '1'");
    expect(quoteFix("a-b = 1", 1)).toBeNull();
    expect(quoteFix("foo.a-b = 1", 5)).toBeNull();
  });
});

describe("unknownKeyTerms", () => {
  it("finds keys no loaded run has", () => {
    const known = { metrics: new Set(["loss"]), params: new Set(["lr"]), tags: new Set<string>() };
    const t = unknownKeyTerms("metrics.loss < 1 AND metrics.foo > 2 AND params.lr = '1' AND status = 'x'", known);
    expect(t.map((x) => x.key)).toEqual(["foo"]);
  });
});
