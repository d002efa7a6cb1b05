"""Registered models: create, read, rename, update, delete, search, tags, latest versions and aliases.

Every use case is one transaction. A registered model belongs to the caller's workspace: names are
unique per workspace, and a model of another workspace does not exist for the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, exc

from runyard.domain.entities import Page
from runyard.domain.errors import MlflowError, already_exists, invalid, not_found
from runyard.domain.permissions import REGISTERED_MODEL
from runyard.domain.search_filter import REGISTERED_MODEL_GRAMMAR, parse_filter, parse_order_by
from runyard.services.context import RequestContext, now_ms, require_workspace, workspace_gone
from runyard.services.registry import (
    ALL_STAGES,
    LATEST_ALIAS,
    SEARCH_MODELS_DEFAULT_MAX_RESULTS,
    SEARCH_MODELS_MAX_RESULTS,
    canonical_stage,
    next_page_token,
    page_limit,
    parse_version,
    require_model,
    require_version,
    validate_alias,
    validate_alias_not_reserved,
    validate_description,
    validate_model_name,
    validate_tag,
    validate_tags,
)
from runyard.store import registry as reg_store
from runyard.store import search as search_sql
from runyard.store.database import Database
from runyard.store.identity import grants as grant_store
from runyard.store.integrity import is_foreign_key_violation
from runyard.store.registry import ModelRow, ModelVersion, RegisteredModel


def _already_exists(name: str) -> MlflowError:
    return already_exists(f"Registered Model (name={name}) already exists.")


class RegisteredModelService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _load(self, conn: Connection, row: ModelRow) -> RegisteredModel:
        return reg_store.load_models(conn, [row])[0]

    # --- reads --------------------------------------------------------------------------------

    def get(self, ctx: RequestContext, name: str | None) -> RegisteredModel:
        with self._db.read() as conn:
            return self._load(conn, require_model(conn, ctx, name))

    def search(
        self,
        ctx: RequestContext,
        *,
        filter_string: str | None,
        max_results: int | None,
        order_by: Sequence[str],
        page_token: str | None,
    ) -> Page[RegisteredModel]:
        limit = page_limit(max_results, SEARCH_MODELS_DEFAULT_MAX_RESULTS, SEARCH_MODELS_MAX_RESULTS)
        where = reg_store.model_filter(parse_filter(filter_string, REGISTERED_MODEL_GRAMMAR))
        order = reg_store.model_ordering(parse_order_by(order_by, REGISTERED_MODEL_GRAMMAR))
        offset = search_sql.decode_page_token(page_token)
        readable = ctx.readable(REGISTERED_MODEL, reg_store.MODEL_NAME_COLUMN, reg_store.MODEL_NAME_COLUMN)
        if readable is not None:
            where = [*where, readable]
        with self._db.read() as conn:
            require_workspace(conn, ctx)
            rows = reg_store.search_models(conn, ctx.workspace.id, where, order, offset, limit + 1)
            models = reg_store.load_models(conn, rows[:limit])
        return Page(models, next_page_token(offset, limit, len(rows)))

    def latest_versions(self, ctx: RequestContext, name: str | None, stages: Sequence[str]) -> list[ModelVersion]:
        """The newest version of each requested stage (every stage when none is named)."""
        wanted = {canonical_stage(s) for s in stages} if stages else set(ALL_STAGES)
        with self._db.read() as conn:
            model = require_model(conn, ctx, name)
            rows = reg_store.latest_version_rows(conn, [model.pk]).get(model.pk, [])
            return reg_store.load_versions(conn, [r for r in rows if r.current_stage in wanted])

    def get_by_alias(self, ctx: RequestContext, name: str | None, alias: str | None) -> ModelVersion:
        """The version an alias points at; `latest` is the newest version (MLflow's reserved alias)."""
        name = validate_model_name(name)
        alias = validate_alias(alias)
        with self._db.read() as conn:
            model = require_model(conn, ctx, name)
            if alias.lower() == LATEST_ALIAS:
                number = reg_store.newest_version(conn, model.pk)
                if number is None:
                    raise not_found(f"Latest version not found for model {name}.")
            else:
                found = reg_store.alias_version(conn, model.pk, alias)
                if found is None:
                    raise invalid(f"Registered model alias {alias} not found.")
                number = found
            return reg_store.load_versions(conn, [require_version(conn, ctx, name, number)])[0]

    # --- writes -------------------------------------------------------------------------------

    def create(
        self,
        ctx: RequestContext,
        name: str | None,
        tags: Sequence[tuple[str, str]],
        description: str | None,
    ) -> RegisteredModel:
        name = validate_model_name(name)
        checked = validate_tags(tags)
        description = validate_description(description)
        try:
            with self._db.write() as conn:
                require_workspace(conn, ctx)
                if reg_store.get_model(conn, ctx.workspace.id, name) is not None:
                    raise _already_exists(name)
                pk = reg_store.insert_model(conn, ctx.workspace.id, name, description, now_ms())
                reg_store.set_model_tags(conn, pk, checked)
                ctx.grant_creator(conn, REGISTERED_MODEL, name)
                row = reg_store.get_model(conn, ctx.workspace.id, name)
                assert row is not None and row.pk == pk
                return self._load(conn, row)
        except exc.IntegrityError as e:
            if is_foreign_key_violation(e):  # the workspace went meanwhile (a deletion by another process)
                raise workspace_gone(ctx) from None
            # A concurrent create of the same name won (PostgreSQL's unique index decided).
            raise _already_exists(name) from None

    def rename(self, ctx: RequestContext, name: str | None, new_name: str | None) -> RegisteredModel:
        new_name = validate_model_name(new_name, "new_name")
        try:
            with self._db.write() as conn:
                model = require_model(conn, ctx, name)
                if new_name != model.name:
                    if reg_store.get_model(conn, ctx.workspace.id, new_name) is not None:
                        raise _already_exists(new_name)
                    reg_store.rename_model(conn, model.pk, new_name, now_ms())
                    # Grants follow the model (a new model under the old name starts with none).
                    grant_store.rename_resource(conn, ctx.workspace.id, REGISTERED_MODEL, model.name, new_name)
                    ctx.forget_permissions()
                row = reg_store.get_model(conn, ctx.workspace.id, new_name)
                assert row is not None
                return self._load(conn, row)
        except exc.IntegrityError:
            raise _already_exists(new_name) from None

    def update(self, ctx: RequestContext, name: str | None, description: str | None) -> RegisteredModel:
        description = validate_description(description)
        with self._db.write() as conn:
            model = require_model(conn, ctx, name)
            reg_store.update_model(conn, model.pk, description=description, last_updated_time=now_ms())
            row = reg_store.get_model(conn, ctx.workspace.id, model.name)
            assert row is not None
            return self._load(conn, row)

    def delete(self, ctx: RequestContext, name: str | None) -> None:
        """The model with all its versions, tags and aliases."""
        with self._db.write() as conn:
            model = require_model(conn, ctx, name)
            reg_store.delete_model(conn, model.pk)
            grant_store.delete_for_resource(conn, ctx.workspace.id, REGISTERED_MODEL, model.name)
            ctx.forget_permissions()

    def set_tag(self, ctx: RequestContext, name: str | None, key: str | None, value: str | None) -> None:
        validate_model_name(name)
        tag = validate_tag(key, value)
        with self._db.write() as conn:
            model = require_model(conn, ctx, name)
            reg_store.set_model_tags(conn, model.pk, [tag])

    def delete_tag(self, ctx: RequestContext, name: str | None, key: str | None) -> None:
        """Deleting a tag that is not set is not an error (as in MLflow)."""
        validate_model_name(name)
        key, _ = validate_tag(key, "")
        with self._db.write() as conn:
            model = require_model(conn, ctx, name)
            reg_store.delete_model_tag(conn, model.pk, key)

    def set_alias(self, ctx: RequestContext, name: str | None, alias: str | None, version: str | None) -> None:
        name = validate_model_name(name)
        alias = validate_alias(alias)
        validate_alias_not_reserved(alias)
        number = parse_version(version)
        with self._db.write() as conn:
            found = require_version(conn, ctx, name, number)
            reg_store.set_alias(conn, found.model_pk, alias, number)

    def delete_alias(self, ctx: RequestContext, name: str | None, alias: str | None) -> None:
        """Deleting an alias that is not set is not an error (as in MLflow)."""
        name = validate_model_name(name)
        alias = validate_alias(alias)
        with self._db.write() as conn:
            model = require_model(conn, ctx, name)
            reg_store.delete_alias(conn, model.pk, alias)
