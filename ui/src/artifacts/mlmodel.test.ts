import { describe, expect, it } from "vitest";
import { parseMLmodel, schemaRows } from "./mlmodel";

const MLMODEL = `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.pkl
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
model_id: m-123
model_size_bytes: 10817
model_uuid: 9430
run_id: abc
saved_input_example_info:
  artifact_path: input_example.json
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "feature_alpha", "required": true}, {"type":
    "double", "name": "feature_beta", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}}]'
  params: '[{"name": "temperature", "type": "double", "default": 0.5, "shape": null}]'
`;

describe("MLmodel card", () => {
  it("reads flavors, versions, ids and the signature", () => {
    const card = parseMLmodel(MLMODEL);
    expect(card.flavors.map((f) => f.name)).toEqual(["python_function", "sklearn"]);
    expect(card.pythonVersion).toBe("3.11.7");
    expect(card.frameworkVersions).toEqual([["sklearn_version", "1.9.1"]]);
    expect(card.mlflowVersion).toBe("3.17.2");
    expect(card.modelId).toBe("m-123");
    expect(card.modelUuid).toBe("9430");
    expect(card.sizeBytes).toBe(10817);
    expect(card.inputs).toEqual([
      { name: "feature_alpha", type: "double", required: true, detail: "" },
      { name: "feature_beta", type: "double", required: false, detail: "" },
    ]);
    expect(card.outputs?.[0]).toMatchObject({ type: "tensor<float32>", detail: "shape [-1,10]" });
    expect(card.params?.[0]).toMatchObject({ name: "temperature", detail: "default 0.5" });
    expect(card.inputExample).toEqual({
      path: "input_example.json",
      type: "dataframe",
      servingPath: "serving_input_example.json",
    });
  });
  it("survives a missing signature and odd schema text", () => {
    const card = parseMLmodel("flavors:\n  pytorch:\n    pytorch_version: 2.1\n");
    expect(card.inputs).toBeNull();
    expect(card.frameworkVersions).toEqual([["pytorch_version", "2.1"]]);
    expect(schemaRows("not json")?.[0]?.type).toBe("not json");
  });
});
