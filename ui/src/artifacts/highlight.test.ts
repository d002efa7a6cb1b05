import { describe, expect, it } from "vitest";
import { jsonLine, yamlLine } from "./highlight";

describe("highlighting", () => {
  it("colours JSON keys, strings, numbers and literals", () => {
    const kinds = jsonLine('  "a": "x", "n": -1.5e3, "t": true').map((t) => `${t.kind}:${t.text.trim()}`);
    expect(kinds).toContain('key:"a"');
    expect(kinds).toContain('string:"x"');
    expect(kinds).toContain("number:-1.5e3");
    expect(kinds).toContain("literal:true");
  });
  it("colours YAML keys, dashes, scalars and comments", () => {
    const t = yamlLine("  - name: 12 # note");
    expect(t.map((x) => x.kind)).toEqual(["plain", "punct", "key", "punct", "number", "comment"]);
    expect(yamlLine("# all comment")[0]?.kind).toBe("comment");
    expect(yamlLine("url: http://x:1/y").find((x) => x.kind === "key")?.text).toBe("url");
    expect(yamlLine("  'q k': 'v'").map((x) => x.kind)).toEqual(["plain", "key", "punct", "string"]);
  });
});
