"""Model versions: create (with source checks and gap-free numbering), read, update, delete, search,
tags, download URI and stage transitions — every use case one transaction.

Creating a version checks its source (`runyard.services.model_sources`), then takes the next number
from the registered model's counter and inserts the version in the same transaction, so concurrent
registrations of one model get consecutive numbers on SQLite and PostgreSQL alike. Versions are READY
at once: the artifacts already exist where the source points. A version made from a logged model
gets a copy of the model's server-set `runyard.` card tags (README "Server-set tags").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from sqlalchemy import Connection

from runyard.domain.entities import Page
from runyard.domain.errors import invalid
from runyard.domain.model_card import CARD_TAGS
from runyard.domain.permissions import REGISTERED_MODEL
from runyard.domain.search_filter import MODEL_VERSION_GRAMMAR, parse_filter, parse_order_by
from runyard.domain.validation import validate_length
from runyard.services.context import RequestContext, now_ms, require_workspace
from runyard.services.model_sources import parse_source, resolve_source
from runyard.services.registry import (
    ACTIVE_STAGES,
    MAX_RUN_LINK_LENGTH,
    SEARCH_VERSIONS_DEFAULT_MAX_RESULTS,
    SEARCH_VERSIONS_MAX_RESULTS,
    canonical_stage,
    model_not_found,
    next_page_token,
    page_limit,
    parse_version,
    require_model,
    require_version,
    validate_description,
    validate_model_name,
    validate_tag,
    validate_tags,
)
from runyard.store import logged_models as lm_store
from runyard.store import registry as reg_store
from runyard.store import search as search_sql
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry
from runyard.store.registry import ModelVersion, NewVersion, VersionRow

# The logged-model tag listing the registry versions made from the model (set by the reference
# server as well as by the client after `log_model(registered_model_name=...)`).
MODEL_VERSIONS_TAG: Final = "mlflow.modelVersions"


class ModelVersionService:
    def __init__(self, db: Database, keys: KeyRegistry) -> None:
        self._db = db
        self._keys = keys

    def _load(self, conn: Connection, row: VersionRow) -> ModelVersion:
        return reg_store.load_versions(conn, [row])[0]

    def _reload(self, conn: Connection, ctx: RequestContext, row: VersionRow) -> ModelVersion:
        return self._load(conn, require_version(conn, ctx, row.name, row.version))

    # --- reads --------------------------------------------------------------------------------

    def get(self, ctx: RequestContext, name: str | None, version: str | None) -> ModelVersion:
        with self._db.read() as conn:
            return self._load(conn, require_version(conn, ctx, name, version))

    def download_uri(self, ctx: RequestContext, name: str | None, version: str | None) -> str:
        """Where the version's artifacts are: the logged model's or run's artifact URI its source names."""
        with self._db.read() as conn:
            return require_version(conn, ctx, name, version).storage_location

    def search(
        self,
        ctx: RequestContext,
        *,
        filter_string: str | None,
        max_results: int | None,
        order_by: Sequence[str],
        page_token: str | None,
    ) -> Page[ModelVersion]:
        limit = page_limit(max_results, SEARCH_VERSIONS_DEFAULT_MAX_RESULTS, SEARCH_VERSIONS_MAX_RESULTS)
        where = reg_store.version_filter(parse_filter(filter_string, MODEL_VERSION_GRAMMAR))
        order_keys = parse_order_by(
            order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"], MODEL_VERSION_GRAMMAR
        )
        order = reg_store.version_ordering(order_keys)
        offset = search_sql.decode_page_token(page_token)
        readable = ctx.readable(REGISTERED_MODEL, reg_store.MODEL_NAME_COLUMN, reg_store.MODEL_NAME_COLUMN)
        if readable is not None:
            where = [*where, readable]
        with self._db.read() as conn:
            require_workspace(conn, ctx)
            rows = reg_store.search_versions(conn, ctx.workspace.id, where, order, offset, limit + 1)
            versions = reg_store.load_versions(conn, rows[:limit])
        return Page(versions, next_page_token(offset, limit, len(rows)))

    # --- writes -------------------------------------------------------------------------------

    def create(
        self,
        ctx: RequestContext,
        *,
        name: str | None,
        source: str | None,
        run_id: str | None,
        model_id: str | None,
        tags: Sequence[tuple[str, str]],
        run_link: str | None,
        description: str | None,
    ) -> ModelVersion:
        name = validate_model_name(name)
        parsed = parse_source(source)
        checked = validate_tags(tags)
        validate_description(description)
        validate_length("run_link", run_link, MAX_RUN_LINK_LENGTH)
        # Interned before the write transaction: the key registry writes in its own transaction.
        tag_key = self._keys.ids_for([MODEL_VERSIONS_TAG])[MODEL_VERSIONS_TAG] if model_id else None
        now = now_ms()
        with self._db.write() as conn:
            resolved = resolve_source(conn, ctx, parsed, run_id, model_id)
            model = require_model(conn, ctx, name)
            number = reg_store.allocate_version(conn, model.pk, now)
            if number is None:
                raise model_not_found(model.name)
            new = NewVersion(
                source=resolved.source,
                storage_location=resolved.storage_location,
                run_id=resolved.run_id,
                model_id=resolved.model_id,
                run_link=run_link if run_link is not None else "",
                description=description if description is not None else "",
            )
            reg_store.insert_version(conn, model.pk, number, new, now)
            reg_store.set_version_tags(conn, model.pk, number, checked)
            if resolved.model_id:
                # The logged model's server-set card (flavors, signature, ...) is copied to the version.
                card = reg_store.logged_model_tags_named(conn, resolved.model_id, CARD_TAGS)
                reg_store.set_version_tags(conn, model.pk, number, card)
            if model_id and tag_key is not None:
                _record_on_logged_model(conn, model_id, tag_key, name, number)
            row = reg_store.get_version(conn, ctx.workspace.id, name, number)
            assert row is not None
            return self._load(conn, row)

    def update(
        self, ctx: RequestContext, name: str | None, version: str | None, description: str | None
    ) -> ModelVersion:
        validate_description(description)
        with self._db.write() as conn:
            row = require_version(conn, ctx, name, version)
            reg_store.update_version(
                conn, row.model_pk, row.version, description=description, last_updated_time=now_ms()
            )
            return self._reload(conn, ctx, row)

    def delete(self, ctx: RequestContext, name: str | None, version: str | None) -> None:
        """The version with its tags and the aliases pointing at it; its number is not reused."""
        with self._db.write() as conn:
            row = require_version(conn, ctx, name, version)
            now = now_ms()
            reg_store.delete_version(conn, row.model_pk, row.version)
            reg_store.update_model(conn, row.model_pk, last_updated_time=now)

    def transition_stage(
        self, ctx: RequestContext, name: str | None, version: str | None, stage: str | None, archive_existing: bool
    ) -> ModelVersion:
        validate_model_name(name)
        parse_version(version)
        target = canonical_stage(stage)
        if archive_existing and target not in ACTIVE_STAGES:
            raise invalid(
                "Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {list(ACTIVE_STAGES)}"
            )
        with self._db.write() as conn:
            row = require_version(conn, ctx, name, version)
            now = now_ms()
            if archive_existing:
                reg_store.archive_stage(conn, row.model_pk, target, row.version, now)
            reg_store.update_version(conn, row.model_pk, row.version, current_stage=target, last_updated_time=now)
            reg_store.update_model(conn, row.model_pk, last_updated_time=now)
            return self._reload(conn, ctx, row)

    def set_tag(
        self, ctx: RequestContext, name: str | None, version: str | None, key: str | None, value: str | None
    ) -> None:
        validate_model_name(name)
        parse_version(version)
        tag = validate_tag(key, value)
        with self._db.write() as conn:
            row = require_version(conn, ctx, name, version)
            reg_store.set_version_tags(conn, row.model_pk, row.version, [tag])

    def delete_tag(self, ctx: RequestContext, name: str | None, version: str | None, key: str | None) -> None:
        """Deleting a tag that is not set is not an error (as in MLflow)."""
        validate_model_name(name)
        parse_version(version)
        key, _ = validate_tag(key, "")
        with self._db.write() as conn:
            row = require_version(conn, ctx, name, version)
            reg_store.delete_version_tag(conn, row.model_pk, row.version, key)


def _record_on_logged_model(conn: Connection, model_id: str, key_id: int, name: str, version: int) -> None:
    """Append {name, version} to the logged model's `mlflow.modelVersions` tag (a JSON list)."""
    model = lm_store.get(conn, model_id)
    if model is None:
        return
    entry = {"name": name, "version": version}
    entries: list[object] = []
    current = reg_store.logged_model_tag(conn, model.pk, key_id)
    if current:
        try:
            loaded = json.loads(current)
            entries = loaded if isinstance(loaded, list) else []
        except ValueError:
            entries = []
    if entry not in entries:
        entries.append(entry)
    lm_store.set_tags(conn, model.pk, [(key_id, json.dumps(entries))])
