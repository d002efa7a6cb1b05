// CSV / TSV into rows of cells (RFC 4180 quoting: `"a, b"`, `""` for a quote, breaks inside quotes),
// for the table preview. A text cut short by the preview's size cap drops its unfinished last row.

export interface Delimited {
  header: string[];
  rows: string[][];
  /** The widest row's cell count (rows may be ragged). */
  columns: number;
}

/** The delimiter a file name implies: a tab for `.tsv` / `.tab`, else a comma. */
export function delimiterFor(name: string): string {
  return /\.(tsv|tab)$/i.test(name) ? "\t" : ",";
}

export function parseDelimited(text: string, delimiter: string, truncated = false): Delimited {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  let i = 0;
  const n = text.length;
  let rowStarted = false;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      cell += c;
      i += 1;
      continue;
    }
    if (c === '"' && cell === "") {
      quoted = true;
      rowStarted = true;
      i += 1;
    } else if (c === delimiter) {
      row.push(cell);
      cell = "";
      rowStarted = true;
      i += 1;
    } else if (c === "\n" || c === "\r") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      rowStarted = false;
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      cell += c;
      rowStarted = true;
      i += 1;
    }
  }
  if (rowStarted || cell !== "") {
    // The last row: kept unless the text was cut (then it may be partial).
    if (!truncated) {
      row.push(cell);
      rows.push(row);
    }
  }
  const header = rows.shift() ?? [];
  const columns = rows.reduce((m, r) => Math.max(m, r.length), header.length);
  return { header, rows, columns };
}
