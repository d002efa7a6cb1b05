import { describe, expect, it } from "vitest";
import { parseYaml, YamlError } from "./yaml";

const MLMODEL = `flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    python_version: 3.11.7
  sklearn:
    code: null
    sklearn_version: 1.9.1
is_signature_from_type_hint: false
model_size_bytes: 10817
signature:
  inputs: '[{"type": "double", "name": "feature_alpha", "required": true}, {"type":
    "double", "name": "feature_beta", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2026-12-03 12:25:45.184438'
`;

describe("parseYaml", () => {
  it("reads an MLmodel as PyYAML writes it, folded quoted strings included", () => {
    const v = parseYaml(MLMODEL) as Record<string, any>;
    expect(v.flavors.python_function.python_version).toBe("3.11.7");
    expect(v.flavors.python_function.env).toEqual({ conda: "conda.yaml", virtualenv: "python_env.yaml" });
    expect(v.flavors.sklearn.code).toBeNull();
    expect(v.is_signature_from_type_hint).toBe(false);
    expect(v.model_size_bytes).toBe(10817);
    expect(JSON.parse(v.signature.inputs)).toHaveLength(2);
    expect(JSON.parse(v.signature.inputs)[1].name).toBe("feature_beta");
    expect(v.signature.params).toBeNull();
    expect(v.utc_time_created).toBe("2026-12-03 12:25:45.184438");
  });

  it("reads indentless and nested sequences (conda.yaml)", () => {
    const v = parseYaml("channels:\n- conda-forge\ndependencies:\n- python=3.11.7\n- pip:\n  - mlflow==3.17.2\n  - numpy\nname: mlflow-env\n");
    expect(v).toEqual({
      channels: ["conda-forge"],
      dependencies: ["python=3.11.7", { pip: ["mlflow==3.17.2", "numpy"] }],
      name: "mlflow-env",
    });
  });

  it("reads indented sequences of mappings and comments", () => {
    const v = parseYaml("# top\nitems:\n  - name: a  # first\n    size: 1\n  - name: b\n    size: 2.5\n");
    expect(v).toEqual({ items: [{ name: "a", size: 1 }, { name: "b", size: 2.5 }] });
  });

  it("reads scalars: quotes, escapes, numbers, literals", () => {
    const v = parseYaml(
      "a: 'it''s'\nb: \"tab\\there \\u00e9\"\nc: 0x1f\nd: -1.5e3\ne: .inf\nf: ~\ng: True\nh: http://x:80/y\ni: 1.10.2\n'quoted key': 1\n",
    ) as Record<string, unknown>;
    expect(v).toMatchObject({ a: "it's", b: "tab\there é", c: 31, d: -1500, e: Infinity, f: null, g: true });
    expect(v.h).toBe("http://x:80/y");
    expect(v.i).toBe("1.10.2");
    expect(v["quoted key"]).toBe(1);
  });

  it("reads flow collections, over lines too", () => {
    expect(parseYaml("a: [1, two, 'three, four']\nb: {}\nc: {x: 1, y: [a, b]}\nd: [1,\n  2]\n")).toEqual({
      a: [1, "two", "three, four"],
      b: {},
      c: { x: 1, y: ["a", "b"] },
      d: [1, 2],
    });
  });

  it("reads block scalars with chomping", () => {
    const v = parseYaml("lit: |\n  line 1\n    indented\n  line 3\nfold: >-\n  a\n  b\n\n  c\nkeep: |+\n  x\n\nnext: 1\n");
    expect(v).toEqual({ lit: "line 1\n  indented\nline 3\n", fold: "a b\nc", keep: "x\n\n", next: 1 });
  });

  it("reads multi-line plain scalars and a document marker", () => {
    expect(parseYaml("---\ndescription: a long\n  plain text\nn: 2\n")).toEqual({ description: "a long plain text", n: 2 });
  });

  it("reads top-level sequences and scalars, and empty input", () => {
    expect(parseYaml("- 1\n- - 2\n  - 3\n")).toEqual([1, [2, 3]]);
    expect(parseYaml("just text")).toBe("just text");
    expect(parseYaml("")).toBeNull();
    expect(parseYaml("a:\nb: 2")).toEqual({ a: null, b: 2 });
  });

  it("refuses what it does not read", () => {
    expect(() => parseYaml("a: &x 1\nb: *x\n")).toThrow(YamlError);
    expect(() => parseYaml("a: 'unterminated\n")).toThrow(YamlError);
    expect(() => parseYaml("a: 1\n  b: 2\n")).toThrow(YamlError);
  });
});
