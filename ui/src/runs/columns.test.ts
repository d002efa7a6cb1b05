import { describe, expect, it } from "vitest";
import {
  columnsFromQuery,
  defaultColumns,
  effectiveColumns,
  moveColumn,
  nextOrder,
  orderByFor,
  parseColumnId,
  parseOrder,
  toggleColumn,
  withColumns,
  withParam,
} from "./columns";

const keys = { metrics: ["accuracy", "loss", "val/loss", "f1", "auc"], params: ["lr", "optimizer", "batch size", "seed"], tags: ["team"] };

describe("column ids", () => {
  it("parses prefixed keys verbatim and known attributes", () => {
    expect(parseColumnId("metrics.val/loss")).toEqual({ id: "metrics.val/loss", kind: "metric", key: "val/loss" });
    expect(parseColumnId("tags.mlflow.user")).toMatchObject({ kind: "tag", key: "mlflow.user" });
    expect(parseColumnId("params.")).toBeNull();
    expect(parseColumnId("status")).toMatchObject({ kind: "attribute" });
    expect(parseColumnId("bogus")).toBeNull();
  });
});

describe("columns in the URL", () => {
  it("round-trips through the query, keeping other parameters", () => {
    const q = withColumns(new URLSearchParams("filter=x"), ["name", "metrics.val/loss", "params.batch size"]);
    expect(q.get("filter")).toBe("x");
    const again = new URLSearchParams(q.toString());
    expect(columnsFromQuery(again)).toEqual(["name", "metrics.val/loss", "params.batch size"]);
  });
  it("reads no columns as the defaults and drops junk and duplicates", () => {
    expect(columnsFromQuery(new URLSearchParams("filter=x"))).toBeNull();
    expect(columnsFromQuery(new URLSearchParams("col=name&col=bogus&col=name&col=tags.t"))).toEqual(["name", "tags.t"]);
    expect(withColumns(new URLSearchParams("col=name"), null).has("col")).toBe(false);
  });
  it("sets and clears a parameter", () => {
    expect(withParam(new URLSearchParams("a=1"), "view", "chart").toString()).toBe("a=1&view=chart");
    expect(withParam(new URLSearchParams("view=chart"), "view", "table", "table").toString()).toBe("");
    expect(withParam(new URLSearchParams("filter=x"), "filter", "").toString()).toBe("");
  });
});

describe("defaults", () => {
  it("show the attributes and the first metrics and params", () => {
    const d = defaultColumns(keys);
    expect(d.slice(0, 3)).toEqual(["name", "status", "start_time"]);
    expect(d).toContain("datasets");
    expect(d).toContain("models");
    expect(d.filter((c) => c.startsWith("metrics."))).toEqual(["metrics.accuracy", "metrics.loss", "metrics.val/loss", "metrics.f1"]);
    expect(d.filter((c) => c.startsWith("params."))).toEqual(["params.lr", "params.optimizer", "params.batch size"]);
    expect(effectiveColumns(null, keys)).toEqual(d);
    expect(effectiveColumns(["name"], keys)).toEqual(["name"]);
  });
});

describe("toggling and ordering", () => {
  it("adds a column after the last of its kind, removes it again", () => {
    const cols = ["name", "metrics.loss", "params.lr", "status"];
    expect(toggleColumn(cols, "metrics.acc")).toEqual(["name", "metrics.loss", "metrics.acc", "params.lr", "status"]);
    expect(toggleColumn(cols, "tags.team")).toEqual([...cols, "tags.team"]);
    expect(toggleColumn(cols, "duration")).toEqual(["name", "metrics.loss", "params.lr", "status", "duration"]);
    expect(toggleColumn(cols, "params.lr")).toEqual(["name", "metrics.loss", "status"]);
    expect(toggleColumn(cols, "junk")).toEqual(cols);
  });
  it("moves a column, clamped to the ends", () => {
    const cols = ["a", "b", "c"];
    expect(moveColumn(cols, "c", -1)).toEqual(["a", "c", "b"]);
    expect(moveColumn(cols, "a", -5)).toEqual(cols);
    expect(moveColumn(cols, "a", 9)).toEqual(["b", "c", "a"]);
    expect(moveColumn(cols, "x", 1)).toEqual(cols);
  });
});

describe("sorting", () => {
  it("writes order_by clauses with backquoted keys", () => {
    expect(orderByFor("start_time", false)).toBe("attributes.start_time DESC");
    expect(orderByFor("metrics.loss", true)).toBe("metrics.`loss` ASC");
    expect(orderByFor("params.batch size", true)).toBe("params.`batch size` ASC");
    expect(orderByFor("tags.x", false)).toBe("tags.`x` DESC");
    expect(orderByFor("duration", true)).toBeNull();
    expect(orderByFor("datasets", true)).toBeNull();
  });
  it("reads them back", () => {
    expect(parseOrder("attributes.start_time DESC")).toEqual({ column: "start_time", ascending: false });
    expect(parseOrder("metrics.`val/loss` ASC")).toEqual({ column: "metrics.val/loss", ascending: true });
    expect(parseOrder("params.lr")).toEqual({ column: "params.lr", ascending: true });
    expect(parseOrder("attributes.run_name desc")).toEqual({ column: "name", ascending: false });
    expect(parseOrder("nonsense")).toBeNull();
  });
  it("flips the sorted column and starts others in their natural direction", () => {
    expect(nextOrder("attributes.start_time DESC", "start_time")).toBe("attributes.start_time ASC");
    expect(nextOrder("attributes.start_time DESC", "metrics.loss")).toBe("metrics.`loss` ASC");
    expect(nextOrder("metrics.`loss` ASC", "metrics.loss")).toBe("metrics.`loss` DESC");
    expect(nextOrder("metrics.`loss` ASC", "end_time")).toBe("attributes.end_time DESC");
    expect(nextOrder("", "duration")).toBeNull();
  });
});
