import { describe, expect, it } from "vitest";
import { href, parseHash } from "./route";

describe("parseHash", () => {
  it("reads the client's View run link", () => {
    const r = parseHash("#/experiments/12/runs/0123abcd");
    expect(r).toMatchObject({ page: "run", experimentId: "12", runId: "0123abcd", tab: "overview" });
  });
  it("reads experiments, runs tables and artifact paths", () => {
    expect(parseHash("").page).toBe("experiments");
    expect(parseHash("#/experiments").page).toBe("experiments");
    expect(parseHash("#/experiments/3")).toMatchObject({ page: "experiment", experimentId: "3" });
    expect(parseHash("#/experiments/3/runs")).toMatchObject({ page: "experiment", experimentId: "3" });
    expect(parseHash("#/experiments/3/runs/r1/artifacts/model/MLmodel")).toMatchObject({
      page: "run",
      tab: "artifacts",
      artifactPath: "model/MLmodel",
    });
    expect(parseHash("#/experiments/3/runs/r1/model-metrics")).toMatchObject({ tab: "charts" });
  });
  it("reads model version links with encoded names", () => {
    expect(parseHash("#/models/my%20model/versions/3")).toMatchObject({
      page: "modelVersion",
      name: "my model",
      version: "3",
    });
  });
  it("keeps the query", () => {
    const r = parseHash("#/experiments/3?filter=metrics.loss%20%3C%201&cols=a,b");
    expect(r.query.get("filter")).toBe("metrics.loss < 1");
    expect(r.query.get("cols")).toBe("a,b");
  });
  it("reads logged model links", () => {
    expect(parseHash("#/experiments/3/models/m-1")).toMatchObject({ page: "loggedModel", modelId: "m-1", artifactPath: "" });
    expect(parseHash("#/experiments/3/models/m-1/artifacts/sub/MLmodel")).toMatchObject({
      page: "loggedModel",
      experimentId: "3",
      artifactPath: "sub/MLmodel",
    });
    expect(parseHash(href.loggedModel("3", "m-1", "a b"))).toMatchObject({ page: "loggedModel", artifactPath: "a b" });
  });
  it("names unknown paths", () => {
    expect(parseHash("#/nothing/here")).toMatchObject({ page: "notFound", path: "/nothing/here" });
  });
  it("round-trips hrefs", () => {
    expect(parseHash(href.run("1", "abc", "artifacts"))).toMatchObject({ page: "run", tab: "artifacts" });
    expect(parseHash(href.artifact("1", "abc", "a b/c.txt"))).toMatchObject({ artifactPath: "a b/c.txt" });
    expect(parseHash(href.modelVersion("m/x", "2"))).toMatchObject({ name: "m/x", version: "2" });
  });
});
