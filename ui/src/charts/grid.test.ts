import { describe, expect, it } from "vitest";
import { keyMatches } from "./keys";
import { PALETTE, runColors, withAlpha } from "./colors";
import { sparkPath } from "./Sparkline";

describe("the key filter", () => {
  it("matches every word, case-insensitive, or a /regex/", () => {
    expect(keyMatches("train/loss", "")).toBe(true);
    expect(keyMatches("train/loss", "LOSS train")).toBe(true);
    expect(keyMatches("train/loss", "val")).toBe(false);
    expect(keyMatches("key_199", "/^key_1[0-9]9$/")).toBe(true);
    expect(keyMatches("key_199", "/[/")).toBe(false);
  });
});

describe("run colours", () => {
  it("are stable per run and distinct within a view", () => {
    const ids = Array.from({ length: 12 }, (_, i) => `run-${i}`);
    const a = runColors(ids);
    expect(new Set(a.values()).size).toBe(12);
    expect(runColors(["run-3"]).get("run-3")).toBe(runColors(["run-3", "run-4"]).get("run-3"));
    expect(runColors(Array.from({ length: 30 }, (_, i) => `r${i}`)).size).toBe(30);
    expect(PALETTE).toContain(a.get("run-0"));
    expect(withAlpha("#ff0080", 0.5)).toBe("rgba(255, 0, 128, 0.5)");
  });
});

describe("sparklines", () => {
  const series = {
    run_id: "r",
    metric_key: "loss",
    x_axis: "step" as const,
    count: 4,
    sampled: false,
    x_min: 0,
    x_max: 3,
    start_time: 0,
    step: [0, 1, 2, 3],
    timestamp: [0, 0, 0, 0],
    value: [1, "NaN", 3, 2],
  };
  it("draw the finite points across the box", () => {
    const p = sparkPath(series, 100, 20);
    expect(p.points).toBe(3);
    expect(p.line.startsWith("M1.0,19.0")).toBe(true);
    expect(p.line).toContain("L99.0");
  });
  it("draw nothing without a finite point", () => {
    expect(sparkPath({ ...series, value: ["NaN", "Infinity", "NaN", "NaN"] }).points).toBe(0);
  });
});
