// The MLflow REST shapes the UI reads (as the server renders them: JSON of the protos, proto3
// rules — empty lists and default values may be absent).

export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  last_update_time?: number;
  creation_time?: number;
  tags?: KeyValue[];
}

export interface Metric {
  key: string;
  value: number | string;
  timestamp?: number;
  step?: number;
}

export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status?: string;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface DatasetSummary {
  name: string;
  digest: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags?: KeyValue[];
  dataset: DatasetSummary;
}

export interface ModelInput {
  model_id: string;
}

export interface ModelOutput {
  model_id: string;
  step?: number;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[]; model_inputs?: ModelInput[] };
  outputs?: { model_outputs?: ModelOutput[] };
}

export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

export interface Workspace {
  name: string;
  description?: string;
  naming?: string;
  default_artifact_root?: string;
}

export interface LoggedModel {
  info: {
    model_id: string;
    name?: string;
    experiment_id?: string;
    source_run_id?: string;
    status?: string;
    creation_timestamp_ms?: number;
    artifact_uri?: string;
    model_type?: string;
  };
  data?: { params?: KeyValue[]; metrics?: Metric[] };
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: KeyValue[];
  aliases?: string[];
  model_id?: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
}

export interface CurrentUser {
  username: string;
  is_admin?: boolean;
}
