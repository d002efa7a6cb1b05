import { describe, expect, it } from "vitest";
import { delimiterFor, parseDelimited } from "./delimited";

describe("parseDelimited", () => {
  it("reads quoted cells, doubled quotes, breaks inside quotes and CRLF", () => {
    const t = parseDelimited('city,population\r\nLyon,522000\r\n"Saint, Etienne","1""7\n0"\r\n', ",");
    expect(t.header).toEqual(["city", "population"]);
    expect(t.rows).toEqual([
      ["Lyon", "522000"],
      ["Saint, Etienne", '1"7\n0'],
    ]);
    expect(t.columns).toBe(2);
  });
  it("reads TSV, ragged rows and a last line without a break", () => {
    expect(delimiterFor("a/b.tsv")).toBe("\t");
    expect(delimiterFor("a.csv")).toBe(",");
    const t = parseDelimited("a\tb\n1\t2\t3\n4", "\t");
    expect(t.rows).toEqual([["1", "2", "3"], ["4"]]);
    expect(t.columns).toBe(3);
  });
  it("drops the unfinished last row of a cut text", () => {
    expect(parseDelimited("a,b\n1,2\n3,", ",", true).rows).toEqual([["1", "2"]]);
    expect(parseDelimited("", ",").header).toEqual([]);
  });
});
