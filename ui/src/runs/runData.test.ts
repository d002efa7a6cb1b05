import { describe, expect, it } from "vitest";
import type { Run } from "../api/types";
import {
  buildTree,
  clickSelect,
  collectKeys,
  datasetLabel,
  emptyKeys,
  flatten,
  keyLists,
  metricKeysOf,
  normaliseRun,
  sourceLabel,
  type RunRow,
} from "./runData";

function run(id: string, extra: { parent?: string; metrics?: Record<string, number | string>; params?: Record<string, string> } = {}): Run {
  const tags = [{ key: "mlflow.user", value: "alice" }, { key: "mlflow.source.name", value: "/home/a/train.py" }];
  if (extra.parent) tags.push({ key: "mlflow.parentRunId", value: extra.parent });
  return {
    info: { run_id: id, experiment_id: "1", run_name: `n-${id}`, status: "FINISHED", start_time: 1000, end_time: 2500, user_id: "root" },
    data: {
      metrics: Object.entries(extra.metrics ?? {}).map(([key, value]) => ({ key, value, step: 3 })),
      params: Object.entries(extra.params ?? {}).map(([key, value]) => ({ key, value })),
      tags,
    },
    inputs: { dataset_inputs: [{ dataset: { name: "train", digest: "0123456789abcdef" }, tags: [{ key: "mlflow.data.context", value: "training" }] }] },
    outputs: { model_outputs: [{ model_id: "m-1" }, { model_id: "m-2" }] },
  };
}

const rows = (list: Run[]): RunRow[] => list.map(normaliseRun);

describe("normaliseRun", () => {
  it("reads the latest metrics, params, tags, parent, user, source, datasets and models", () => {
    const r = normaliseRun(run("a", { parent: "p", metrics: { loss: 0.5, bad: "NaN", up: "Infinity" }, params: { lr: "0.1" } }));
    expect(r.metrics.get("loss")).toBe(0.5);
    expect(Number.isNaN(r.metrics.get("bad"))).toBe(true);
    expect(r.metrics.get("up")).toBe(Infinity);
    expect(r.params.get("lr")).toBe("0.1");
    expect(r).toMatchObject({ id: "a", name: "n-a", user: "alice", parentId: "p", models: 2, start: 1000, end: 2500 });
    expect(datasetLabel(r.datasets[0]!)).toBe("train@01234567");
    expect(r.datasets[0]?.context).toBe("training");
    expect(sourceLabel(r.source)).toBe("train.py");
  });
  it("falls back to user_id and run_uuid", () => {
    const raw = run("b");
    raw.data.tags = [];
    raw.info.run_id = "";
    raw.info.run_uuid = "uuid-b";
    expect(normaliseRun(raw)).toMatchObject({ id: "uuid-b", user: "root", parentId: null, source: "" });
  });
});

describe("keys", () => {
  it("collects keys across pages and sorts MLflow's tags last", () => {
    const keys = emptyKeys();
    expect(collectKeys(keys, rows([run("a", { metrics: { loss: 1 } })]))).toBe(true);
    expect(collectKeys(keys, rows([run("b", { metrics: { loss: 2 } })]))).toBe(false);
    expect(collectKeys(keys, rows([run("c", { metrics: { acc: 2 }, params: { lr: "1" } })]))).toBe(true);
    keys.tags.add("team");
    const lists = keyLists(keys);
    expect(lists.metrics).toEqual(["acc", "loss"]);
    expect(lists.tags).toEqual(["team", "mlflow.source.name", "mlflow.user"]);
  });
  it("unions the metric keys of some runs", () => {
    expect(metricKeysOf(rows([run("a", { metrics: { loss: 1 } }), run("b", { metrics: { acc: 1, loss: 2 } })]))).toEqual(["acc", "loss"]);
  });
});

describe("nesting", () => {
  it("groups children under loaded parents, in the server's order", () => {
    const list = rows([run("p1"), run("c1", { parent: "p1" }), run("p2"), run("c2", { parent: "p1" }), run("o", { parent: "missing" })]);
    const tree = buildTree(list);
    expect(tree.roots.map((r) => r.id)).toEqual(["p1", "p2", "o"]);
    expect(tree.children.get("p1")?.map((r) => r.id)).toEqual(["c1", "c2"]);
    const collapsed = flatten(tree, new Set());
    expect(collapsed.map((f) => f.row.id)).toEqual(["p1", "p2", "o"]);
    expect(collapsed[0]).toMatchObject({ childCount: 2, expanded: false });
    expect(collapsed[2]).toMatchObject({ orphan: true });
    const open = flatten(tree, new Set(["p1"]));
    expect(open.map((f) => [f.row.id, f.depth])).toEqual([["p1", 0], ["c1", 1], ["c2", 1], ["p2", 0], ["o", 0]]);
  });
  it("attaches a child loaded before its parent once the parent arrives", () => {
    const page1 = rows([run("c", { parent: "p" }), run("x")]);
    expect(buildTree(page1).roots.map((r) => r.id)).toEqual(["c", "x"]);
    const both = [...page1, ...rows([run("p")])];
    const tree = buildTree(both);
    expect(tree.roots.map((r) => r.id)).toEqual(["x", "p"]);
    expect(tree.children.get("p")?.map((r) => r.id)).toEqual(["c"]);
  });
  it("nests grandchildren and survives cycles", () => {
    const tree = buildTree(rows([run("a"), run("b", { parent: "a" }), run("c", { parent: "b" })]));
    expect(flatten(tree, new Set(["a", "b"])).map((f) => [f.row.id, f.depth])).toEqual([["a", 0], ["b", 1], ["c", 2]]);
    const cyc = buildTree(rows([run("x", { parent: "y" }), run("y", { parent: "x" }), run("s", { parent: "s" })]));
    expect(cyc.roots.map((r) => r.id).sort()).toEqual(["s", "x", "y"]);
  });
});

describe("clickSelect", () => {
  const ids = ["a", "b", "c", "d", "e"];
  it("toggles one row on a plain click", () => {
    expect([...clickSelect(new Set(), ids, 1, null, false)]).toEqual(["b"]);
    expect([...clickSelect(new Set(["b"]), ids, 1, null, false)]).toEqual([]);
  });
  it("selects a range on shift-click, either direction", () => {
    expect([...clickSelect(new Set(["b"]), ids, 3, 1, true)].sort()).toEqual(["b", "c", "d"]);
    expect([...clickSelect(new Set(["d"]), ids, 0, 3, true)].sort()).toEqual(["a", "b", "c", "d"]);
  });
  it("clears a range when the anchor was cleared", () => {
    expect([...clickSelect(new Set(["b", "c", "d"]), ids, 3, 0, true)]).toEqual([]);
    expect([...clickSelect(new Set(["a", "c"]), ids, 2, 1, true)]).toEqual(["a"]);
  });
  it("treats shift without an anchor as a plain click", () => {
    expect([...clickSelect(new Set(), ids, 4, null, true)]).toEqual(["e"]);
  });
});
