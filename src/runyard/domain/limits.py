"""The limits MLflow's server enforces and its client respects."""

from __future__ import annotations

from typing import Final

MAX_KEY_LENGTH: Final = 250
MAX_PARAM_VALUE_LENGTH: Final = 6000
MAX_TAG_VALUE_LENGTH: Final = 8000
MAX_EXPERIMENT_NAME_LENGTH: Final = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH: Final = 250
MAX_EXPERIMENT_TAG_VALUE_LENGTH: Final = 20000
MAX_RUN_NAME_LENGTH: Final = 250
MAX_USER_ID_LENGTH: Final = 256

MAX_METRICS_PER_BATCH: Final = 1000
MAX_PARAMS_TAGS_PER_BATCH: Final = 100
MAX_ENTITIES_PER_BATCH: Final = 1000
MAX_BATCH_REQUEST_BYTES: Final = 1_000_000
# Any other JSON body (dataset profiles may legitimately be large).
MAX_JSON_REQUEST_BYTES: Final = 32 * 1024 * 1024

MAX_DATASETS_PER_BATCH: Final = 1000
MAX_DATASET_NAME_LENGTH: Final = 500
MAX_DATASET_DIGEST_LENGTH: Final = 36
MAX_DATASET_SOURCE_LENGTH: Final = 65535
MAX_DATASET_SCHEMA_LENGTH: Final = 1048575
MAX_DATASET_PROFILE_LENGTH: Final = 16777215
MAX_INPUT_TAG_KEY_LENGTH: Final = 255
MAX_INPUT_TAG_VALUE_LENGTH: Final = 500

SEARCH_RUNS_DEFAULT_MAX_RESULTS: Final = 1000
SEARCH_RUNS_MAX_RESULTS: Final = 50000
SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS: Final = 1000
SEARCH_EXPERIMENTS_MAX_RESULTS: Final = 50000
METRIC_HISTORY_MAX_PAGE: Final = 25000
# Keys one search's `order_by` may name. Every metric/param/tag key is a join: SQLite refuses a
# 64-table join, and 3.40 crashes the process on ~40 of them. The reference has no cap (and fails
# with 64 on SQLite); clients send a handful.
MAX_ORDER_BY_KEYS: Final = 16
# Comparisons one search filter may AND together: SQLite refuses an expression tree deeper than
# 1,000 (about 500 comparisons); the reference has no cap.
MAX_FILTER_COMPARISONS: Final = 100
BULK_INTERVAL_MAX_RUNS: Final = 100
BULK_INTERVAL_MAX_RESULTS: Final = 2500
# `get-history-bulk` (the UI's full histories of several runs): at most 100 runs and 25,000 points in all.
HISTORY_BULK_MAX_RUNS: Final = 100
HISTORY_BULK_MAX_RESULTS: Final = 25000
# `search-datasets`: at most 20 experiments per request, 1,000 summaries per answer.
SEARCH_DATASETS_MAX_EXPERIMENTS: Final = 20
SEARCH_DATASETS_MAX_RESULTS: Final = 1000
