// The runs table's column state, pure: which columns are shown and in what order, how that is
// written into the URL (`col=metrics.loss&col=params.lr`, so a copied link restores the view),
// the defaults, and the server-side sort each column maps to (`order=metrics.`loss` ASC`).
//
// A column id is an attribute column's name (`name`, `status`, `start_time`, ...) or a prefixed
// key: `metrics.<key>`, `params.<key>`, `tags.<key>` (the key verbatim after the first dot).
import { quoteKey } from "./filterSyntax";

export type ColumnKind = "attribute" | "metric" | "param" | "tag";

export interface ColumnSpec {
  id: string;
  kind: ColumnKind;
  /** The attribute's name or the metric/param/tag key. */
  key: string;
}

export interface AttributeColumn {
  key: string;
  label: string;
  /** The `order_by` field the server sorts this column by, if it can. */
  orderBy: string | null;
  width: number;
}

export const ATTRIBUTE_COLUMNS: readonly AttributeColumn[] = [
  { key: "name", label: "Run name", orderBy: "attributes.run_name", width: 220 },
  { key: "status", label: "Status", orderBy: "attributes.status", width: 110 },
  { key: "start_time", label: "Started", orderBy: "attributes.start_time", width: 160 },
  { key: "duration", label: "Duration", orderBy: null, width: 90 },
  { key: "user", label: "User", orderBy: "attributes.user_id", width: 110 },
  { key: "source", label: "Source", orderBy: null, width: 150 },
  { key: "datasets", label: "Datasets", orderBy: null, width: 170 },
  { key: "models", label: "Models", orderBy: null, width: 70 },
  { key: "end_time", label: "Ended", orderBy: "attributes.end_time", width: 160 },
  { key: "run_id", label: "Run ID", orderBy: "attributes.run_id", width: 120 },
];

const ATTRIBUTES = new Map(ATTRIBUTE_COLUMNS.map((a) => [a.key, a]));

/** Attribute columns shown when the URL names none. */
export const DEFAULT_ATTRIBUTES = ["name", "status", "start_time", "duration", "user", "source", "datasets", "models"];

/** How many metric and param columns the default view adds (the first keys, alphabetically). */
export const DEFAULT_METRICS = 4;
export const DEFAULT_PARAMS = 3;

export const DEFAULT_ORDER = "attributes.start_time DESC";

const PREFIX: Record<Exclude<ColumnKind, "attribute">, string> = { metric: "metrics.", param: "params.", tag: "tags." };

export function columnId(kind: ColumnKind, key: string): string {
  return kind === "attribute" ? key : PREFIX[kind] + key;
}

export function parseColumnId(id: string): ColumnSpec | null {
  for (const kind of ["metric", "param", "tag"] as const) {
    if (id.startsWith(PREFIX[kind]) && id.length > PREFIX[kind].length) {
      return { id, kind, key: id.slice(PREFIX[kind].length) };
    }
  }
  return ATTRIBUTES.has(id) ? { id, kind: "attribute", key: id } : null;
}

export function attributeColumn(key: string): AttributeColumn | undefined {
  return ATTRIBUTES.get(key);
}

export function columnLabel(spec: ColumnSpec): string {
  return spec.kind === "attribute" ? (ATTRIBUTES.get(spec.key)?.label ?? spec.key) : spec.key;
}

export function columnWidth(spec: ColumnSpec): number {
  if (spec.kind === "attribute") return ATTRIBUTES.get(spec.key)?.width ?? 120;
  return spec.kind === "metric" ? 110 : 120;
}

// ---------------------------------------------------------------------------------------- URL

export const COLUMNS_PARAM = "col";
export const ORDER_PARAM = "order";
export const FILTER_PARAM = "filter";
export const VIEW_PARAM = "view";

/** The columns the URL names (unknown attribute names dropped, duplicates once), or null when
 *  it names none (the defaults apply). */
export function columnsFromQuery(query: URLSearchParams): string[] | null {
  const raw = query.getAll(COLUMNS_PARAM);
  if (raw.length === 0) return null;
  const out: string[] = [];
  for (const id of raw) if (parseColumnId(id) && !out.includes(id)) out.push(id);
  return out;
}

/** A copy of `query` naming `columns` (null: the defaults, no `col` at all). */
export function withColumns(query: URLSearchParams, columns: readonly string[] | null): URLSearchParams {
  const next = new URLSearchParams(query);
  next.delete(COLUMNS_PARAM);
  if (columns !== null) for (const id of columns) next.append(COLUMNS_PARAM, id);
  return next;
}

/** A copy of `query` with `name` set to `value` (removed when empty or equal to `fallback`). */
export function withParam(query: URLSearchParams, name: string, value: string, fallback = ""): URLSearchParams {
  const next = new URLSearchParams(query);
  if (value === "" || value === fallback) next.delete(name);
  else next.set(name, value);
  return next;
}

export interface KeyLists {
  metrics: readonly string[];
  params: readonly string[];
  tags: readonly string[];
}

/** The default view: the usual attributes, then the first few metrics and params. */
export function defaultColumns(keys: KeyLists): string[] {
  return [
    ...DEFAULT_ATTRIBUTES,
    ...keys.metrics.slice(0, DEFAULT_METRICS).map((k) => columnId("metric", k)),
    ...keys.params.slice(0, DEFAULT_PARAMS).map((k) => columnId("param", k)),
  ];
}

/** What is shown: the URL's columns, or the defaults for the keys loaded so far. */
export function effectiveColumns(fromUrl: readonly string[] | null, keys: KeyLists): string[] {
  return fromUrl ? [...fromUrl] : defaultColumns(keys);
}

/** `columns` with `id` added at the end (or after the last column of its kind) or removed. */
export function toggleColumn(columns: readonly string[], id: string): string[] {
  if (columns.includes(id)) return columns.filter((c) => c !== id);
  const spec = parseColumnId(id);
  if (!spec) return [...columns];
  const sameKind = columns.map((c, i) => [parseColumnId(c)?.kind, i] as const).filter(([k]) => k === spec.kind);
  const at = sameKind.length > 0 ? (sameKind[sameKind.length - 1]?.[1] ?? columns.length - 1) + 1 : columns.length;
  return [...columns.slice(0, at), id, ...columns.slice(at)];
}

/** `columns` with `id` moved by `delta` places (clamped to the ends). */
export function moveColumn(columns: readonly string[], id: string, delta: number): string[] {
  const from = columns.indexOf(id);
  if (from < 0) return [...columns];
  const to = Math.min(columns.length - 1, Math.max(0, from + delta));
  const next = columns.filter((c) => c !== id);
  next.splice(to, 0, id);
  return next;
}

// --------------------------------------------------------------------------------------- sort

export interface Sort {
  column: string;
  ascending: boolean;
}

/** The `order_by` clause sorting by a column, or null when the server cannot sort by it.
 *  Keys are always backquoted (as MLflow's UI writes them), so any key is safe. */
export function orderByFor(id: string, ascending: boolean): string | null {
  const spec = parseColumnId(id);
  if (!spec) return null;
  const dir = ascending ? "ASC" : "DESC";
  if (spec.kind === "attribute") {
    const field = ATTRIBUTES.get(spec.key)?.orderBy;
    return field ? `${field} ${dir}` : null;
  }
  const prefix = PREFIX[spec.kind];
  return `${prefix}${quoteKey(spec.key, true)} ${dir}`;
}

export function sortable(id: string): boolean {
  return orderByFor(id, true) !== null;
}

const ORDER_RE = /^\s*(attributes|attribute|metrics|params|tags)\.(`[^`]*`|"[^"]*"|[^\s`"]+)(?:\s+(ASC|DESC))?\s*$/i;

/** The column and direction an `order_by` clause sorts by (null: not one the table shows). */
export function parseOrder(clause: string): Sort | null {
  const m = ORDER_RE.exec(clause);
  if (!m) return null;
  const prefix = (m[1] ?? "").toLowerCase();
  let key = m[2] ?? "";
  if ((key.startsWith("`") && key.endsWith("`")) || (key.startsWith('"') && key.endsWith('"'))) key = key.slice(1, -1);
  const ascending = (m[3] ?? "ASC").toUpperCase() === "ASC";
  if (prefix.startsWith("attribute")) {
    const attr = ATTRIBUTE_COLUMNS.find((a) => a.orderBy === `attributes.${key}`);
    return attr ? { column: attr.key, ascending } : null;
  }
  const kind = prefix === "metrics" ? "metric" : prefix === "params" ? "param" : "tag";
  return { column: columnId(kind, key), ascending };
}

/** The clause after clicking a column's header: a new column sorts descending for times and
 *  ascending otherwise; the sorted column flips. */
export function nextOrder(current: string, id: string): string | null {
  const now = parseOrder(current);
  if (now && now.column === id) return orderByFor(id, !now.ascending);
  const descFirst = id === "start_time" || id === "end_time";
  return orderByFor(id, !descFirst);
}
