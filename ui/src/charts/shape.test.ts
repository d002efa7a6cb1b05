import { describe, expect, it } from "vitest";
import { bucketBand, chartX, ema, envelope, hasSpread, serverX, seriesPoints, shape, toNumber, unionX } from "./shape";

const options = { smoothing: 0, log: false, band: true };

describe("toNumber", () => {
  it("reads numbers and MLflow's spellings of non-finite values", () => {
    expect(toNumber(1.5)).toBe(1.5);
    expect(toNumber("NaN")).toBeNaN();
    expect(toNumber("Infinity")).toBe(Infinity);
    expect(toNumber("-Infinity")).toBe(-Infinity);
    expect(toNumber(null)).toBeNaN();
  });
});

describe("unionX", () => {
  it("merges, sorts and de-duplicates x values (numerically)", () => {
    expect(unionX([[0, 2, 10], [1, 2, 3, 100]])).toEqual([0, 1, 2, 3, 10, 100]);
    expect(unionX([])).toEqual([]);
  });
});

describe("shape", () => {
  it("aligns runs over the union of their x values with nulls where a run has no point", () => {
    const s = shape(
      [
        { id: "a", points: { x: [0, 1, 2], y: [1, 2, 3] } },
        { id: "b", points: { x: [1, 3], y: [10, 30] } },
      ],
      options,
    );
    expect(s.data[0]).toEqual([0, 1, 2, 3]);
    expect(s.columns).toEqual([
      { series: 0, role: "line" },
      { series: 1, role: "line" },
    ]);
    expect(s.data[1]).toEqual([1, 2, 3, null]);
    expect(s.data[2]).toEqual([null, 10, null, 30]);
    expect(s.bands).toEqual([]);
    expect(s.finitePoints).toBe(5);
  });

  it("turns NaN and infinities into gaps and markers", () => {
    const s = shape([{ id: "a", points: { x: [0, 1, 2, 3], y: [NaN, 1, Infinity, -Infinity] } }], options);
    expect(s.data[1]).toEqual([null, 1, null, null]);
    expect(s.markers).toEqual([
      { series: 0, x: 0, kind: "nan" },
      { series: 0, x: 2, kind: "+inf" },
      { series: 0, x: 3, kind: "-inf" },
    ]);
  });

  it("leaves values <= 0 out on a log scale and counts them", () => {
    const s = shape([{ id: "a", points: { x: [0, 1, 2], y: [0, -1, 5], min: [0, -1, 4], max: [1, 1, 6] } }], {
      ...options,
      log: true,
    });
    const line = s.columns.findIndex((c) => c.role === "line") + 1;
    expect(s.data[line]).toEqual([null, null, 5]);
    expect(s.hiddenNonPositive).toBe(2);
    const lower = s.bands[0]?.lower ?? -1;
    expect(s.data[lower]).toEqual([null, null, 4]);
  });

  it("adds band columns (max, min) and, when smoothing, the raw line behind the smoothed one", () => {
    const s = shape([{ id: "a", points: { x: [0, 1], y: [1, 3], min: [0, 2], max: [2, 4] } }], {
      ...options,
      smoothing: 0.5,
    });
    expect(s.columns.map((c) => c.role)).toEqual(["max", "min", "raw", "line"]);
    expect(s.bands).toEqual([{ series: 0, upper: 1, lower: 2 }]);
    expect(s.data[3]).toEqual([1, 3]);
    expect(s.data[4]?.[0]).toBeCloseTo(1);
    expect(s.data[4]?.[1]).toBeCloseTo((0.25 + 1.5) / 0.75);
  });

  it("skips the band when asked to", () => {
    const s = shape([{ id: "a", points: { x: [0], y: [1], min: [0], max: [2] } }], { ...options, band: false });
    expect(s.columns.map((c) => c.role)).toEqual(["line"]);
  });
});

describe("ema", () => {
  it("is the debiased EMA, ignoring null and non-finite values", () => {
    const out = ema([2, null, NaN, 4, Infinity], 0.5);
    expect(out[0]).toBeCloseTo(2);
    expect(out[1]).toBeNull();
    expect(out[2]).toBeNull();
    expect(out[3]).toBeCloseTo((0.5 * 1 + 0.5 * 4) / 0.75);
    expect(out[4]).toBeNull();
  });
  it("is the identity without smoothing", () => {
    expect(ema([1, null, 3], 0)).toEqual([1, null, 3]);
  });
});

describe("from the server", () => {
  const series = {
    sampled: false,
    start_time: 1000,
    step: [0, 5, 10],
    timestamp: [1000, 3000, 6000],
    value: [1, "NaN", 2] as (number | string)[],
  };
  it("puts x on the chart's axis and back", () => {
    expect(chartX(series, "step")).toEqual([0, 5, 10]);
    expect(chartX(series, "wall")).toEqual([1, 3, 6]);
    expect(chartX(series, "relative")).toEqual([0, 2, 5]);
    expect(chartX({ ...series, start_time: null }, "relative")).toEqual([0, 2, 5]);
    expect(serverX(2.0004, "relative", "min")).toBe(2000);
    expect(serverX(2.0004, "wall", "max")).toBe(2001);
    expect(serverX(7.5, "step", "max")).toBe(8);
  });
  it("reads values and adds an envelope to sampled series only", () => {
    const whole = seriesPoints(series, "step");
    expect(whole.y[1]).toBeNaN();
    expect(whole.min).toBeUndefined();
    const sampled = seriesPoints(
      { ...series, sampled: true, step: [0, 1, 2, 3, 10, 11, 12, 13], timestamp: [0, 0, 0, 0, 0, 0, 0, 0], value: [1, 9, -3, 2, 5, 5, 7, "NaN"] },
      "step",
    );
    expect(sampled.min).toEqual([-3, -3, -3, -3, 5, 5, 5, 5]);
    expect(sampled.max).toEqual([9, 9, 9, 9, 7, 7, 7, 7]);
    expect(hasSpread(sampled)).toBe(true);
  });
  it("draws the server's buckets exactly when it names them", () => {
    // Buckets of 3, 1 and 4 points: not what equal-width re-bucketing would guess.
    const sampled = seriesPoints(
      {
        ...series,
        sampled: true,
        buckets: [3, 1, 4],
        step: [0, 1, 2, 3, 10, 11, 12, 13],
        timestamp: [0, 0, 0, 0, 0, 0, 0, 0],
        value: [1, 9, -3, 2, 5, "Infinity", 7, "NaN"],
      },
      "step",
    );
    expect(sampled.min).toEqual([-3, -3, -3, 2, 5, 5, 5, 5]);
    expect(sampled.max).toEqual([9, 9, 9, 2, 7, 7, 7, 7]);
    expect(bucketBand([Number.NaN, 1], [1, 1])).toEqual({ min: [Number.NaN, 1], max: [Number.NaN, 1] });
  });
  it("keeps every point's extremes inside the envelope", () => {
    const x = Array.from({ length: 400 }, (_, i) => i * 3);
    const y = x.map((v) => (v === 300 ? 100 : Math.sin(v)));
    const { min, max } = envelope(x, y, 100);
    y.forEach((v, i) => {
      expect(min[i]).toBeLessThanOrEqual(v);
      expect(max[i]).toBeGreaterThanOrEqual(v);
    });
    expect(Math.max(...max)).toBe(100);
  });
});
