// What an `MLmodel` file says, read for the model card: flavors and their versions, ids, the
// signature's inputs / outputs / params as table rows, the saved input example.
import { parseYaml, type YamlValue } from "./yaml";

export interface SchemaRow {
  name: string;
  type: string;
  required: boolean | null;
  /** Tensor shape or a param's default, shown beside the type. */
  detail: string;
}

export interface Flavor {
  name: string;
  /** The flavor's settings worth showing (versions, loader, file names), as text. */
  fields: [string, string][];
}

export interface ModelCard {
  flavors: Flavor[];
  pythonVersion: string | null;
  mlflowVersion: string | null;
  /** e.g. sklearn_version 1.3.0 */
  frameworkVersions: [string, string][];
  modelUuid: string | null;
  modelId: string | null;
  runId: string | null;
  artifactPath: string | null;
  created: string | null;
  sizeBytes: number | null;
  inputs: SchemaRow[] | null;
  outputs: SchemaRow[] | null;
  params: SchemaRow[] | null;
  /** Path of the input example relative to the model's folder, if one was saved. */
  inputExample: { path: string; type: string | null; servingPath: string | null } | null;
  /** The parsed document, for everything else. */
  raw: { [key: string]: YamlValue };
}

function isObject(v: YamlValue | undefined): v is { [key: string]: YamlValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function text(v: YamlValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function typeName(spec: Record<string, unknown>): string {
  const type = spec.type;
  if (type === "tensor") {
    const t = spec["tensor-spec"] as { dtype?: string } | undefined;
    return `tensor<${t?.dtype ?? "?"}>`;
  }
  if (type === "array") {
    const items = spec.items as Record<string, unknown> | undefined;
    return `array<${items ? typeName(items) : "?"}>`;
  }
  if (type === "object") {
    const props = spec.properties as Record<string, Record<string, unknown>> | undefined;
    return `object{${props ? Object.entries(props).map(([k, p]) => `${k}: ${typeName(p)}`).join(", ") : ""}}`;
  }
  if (type === "map") {
    const values = spec.values as Record<string, unknown> | undefined;
    return `map<string, ${values ? typeName(values) : "?"}>`;
  }
  return typeof type === "string" ? type : JSON.stringify(type ?? "?");
}

/** Rows of a signature's `inputs` / `outputs` / `params` (a JSON text in MLmodel), or null. */
export function schemaRows(value: YamlValue | undefined): SchemaRow[] | null {
  if (value === undefined || value === null) return null;
  let specs: unknown;
  try {
    specs = typeof value === "string" ? JSON.parse(value) : value;
  } catch {
    return [{ name: "", type: String(value), required: null, detail: "" }];
  }
  if (!Array.isArray(specs)) return null;
  return specs.map((raw, index) => {
    const spec = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const tensor = spec["tensor-spec"] as { shape?: unknown } | undefined;
    let detail = "";
    if (tensor?.shape !== undefined) detail = `shape ${JSON.stringify(tensor.shape)}`;
    else if ("default" in spec) detail = `default ${JSON.stringify(spec.default)}`;
    if (spec.shape !== undefined && spec.shape !== null) detail += `${detail ? ", " : ""}shape ${JSON.stringify(spec.shape)}`;
    return {
      name: typeof spec.name === "string" ? spec.name : `#${index}`,
      type: typeName(spec),
      required: typeof spec.required === "boolean" ? spec.required : null,
      detail,
    };
  });
}

const FLAVOR_FIELDS = /(_version$|^loader_module$|^model_path$|^pickled_model$|^serialization_format$|^data$|^code$|^predict_fn$|^model_data$|^model_type$|^env$)/;

export function modelCard(value: YamlValue): ModelCard {
  if (!isObject(value)) throw new Error("MLmodel is not a mapping");
  const flavorsValue = value.flavors;
  const flavors: Flavor[] = [];
  const frameworkVersions: [string, string][] = [];
  let pythonVersion: string | null = null;
  if (isObject(flavorsValue)) {
    for (const [name, settings] of Object.entries(flavorsValue)) {
      const fields: [string, string][] = [];
      if (isObject(settings)) {
        for (const [k, v] of Object.entries(settings)) {
          if (v === null || !FLAVOR_FIELDS.test(k)) continue;
          if (k === "env" && isObject(v)) {
            fields.push([k, Object.values(v).map((e) => String(e)).join(", ")]);
            continue;
          }
          const t = text(v) ?? "";
          fields.push([k, t]);
          if (k === "python_version") pythonVersion = t;
          else if (k.endsWith("_version")) frameworkVersions.push([k, t]);
        }
      }
      flavors.push({ name, fields });
    }
  }
  const signature = isObject(value.signature) ? value.signature : null;
  const example = isObject(value.saved_input_example_info) ? value.saved_input_example_info : null;
  const size = value.model_size_bytes;
  return {
    flavors,
    pythonVersion,
    mlflowVersion: text(value.mlflow_version),
    frameworkVersions,
    modelUuid: text(value.model_uuid),
    modelId: text(value.model_id),
    runId: text(value.run_id),
    artifactPath: text(value.artifact_path),
    created: text(value.utc_time_created),
    sizeBytes: typeof size === "number" ? size : null,
    inputs: signature ? schemaRows(signature.inputs) : null,
    outputs: signature ? schemaRows(signature.outputs) : null,
    params: signature ? schemaRows(signature.params) : null,
    inputExample:
      example && typeof example.artifact_path === "string"
        ? { path: example.artifact_path, type: text(example.type), servingPath: text(example.serving_input_path) }
        : null,
    raw: value,
  };
}

export function parseMLmodel(source: string): ModelCard {
  return modelCard(parseYaml(source));
}
