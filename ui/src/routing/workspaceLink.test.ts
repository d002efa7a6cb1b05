import { describe, expect, it } from "vitest";
import { workspaceRedirect } from "./workspaceLink";

describe("workspaceRedirect", () => {
  it("moves a client link for another workspace below /w/<workspace>/", () => {
    expect(workspaceRedirect("/", "#/experiments/5?workspace=team")).toBe("/w/team/#/experiments/5");
    expect(workspaceRedirect("/", "#/experiments/5/runs/abc?workspace=a%20b&x=1")).toBe(
      "/w/a%20b/#/experiments/5/runs/abc?x=1",
    );
  });
  it("moves to the root for the default workspace, and between workspaces", () => {
    expect(workspaceRedirect("/w/team/", "#/experiments?workspace=default")).toBe("/#/experiments");
    expect(workspaceRedirect("/w/team/", "#/experiments?workspace=other")).toBe("/w/other/#/experiments");
  });
  it("only drops the parameter when the page is already there", () => {
    expect(workspaceRedirect("/w/team/", "#/experiments/1?workspace=team")).toBe("/w/team/#/experiments/1");
  });
  it("keeps a server below a path prefix", () => {
    expect(workspaceRedirect("/tracking/", "#/experiments?workspace=t")).toBe("/tracking/w/t/#/experiments");
  });
  it("leaves other links alone", () => {
    expect(workspaceRedirect("/", "#/experiments/5")).toBeNull();
    expect(workspaceRedirect("/", "#/experiments/5?filter=x")).toBeNull();
    expect(workspaceRedirect("/", "")).toBeNull();
  });
});
