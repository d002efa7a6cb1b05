"""Caps on a GraphQL document, checked before it is validated or executed (CVE-2025-0453: MLflow's
endpoint could be made to do unbounded work by one request).

The depth, total-selection, root-field and alias limits and their messages are the reference
server's (`mlflow/server/graphql/graphql_no_batching.py`): fragments are expanded where they are
spread, so a limit cannot be dodged by spreading the fields over fragments. The size limit is
Runyard's own (the reference has none): the web UI's largest document is under 2 KB.
"""

from __future__ import annotations

from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
)

MAX_QUERY_BYTES = 64 * 1024
MAX_DEPTH = 10
MAX_SELECTIONS = 1000
MAX_ROOT_FIELDS = 10
MAX_ALIASES = 10
# The parser stops after this many tokens (a document of MAX_QUERY_BYTES holds at most ~32k).
MAX_TOKENS = 40_000


def size_error(query: str) -> str | None:
    """The message for a document longer than MAX_QUERY_BYTES (UTF-8), else None."""
    size = len(query.encode("utf-8", errors="surrogatepass"))
    if size > MAX_QUERY_BYTES:
        return f"Query exceeds maximum size of {MAX_QUERY_BYTES} bytes, got {size} bytes"
    return None


def document_error(document: DocumentNode) -> str | None:
    """The message for the first limit `document` exceeds, else None.

    Every operation in the document counts (not only the one that would run), as in the reference.
    Iterative, so a deeply nested document cannot exhaust the interpreter's stack.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root_fields = 0
    max_aliases = 0
    selections = 0
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        stack: list[tuple[SelectionSetNode, int]] = [(operation.selection_set, 1)]
        while stack:
            selection_set, depth = stack.pop()
            if depth > MAX_DEPTH:
                return f"Query exceeds maximum depth of {MAX_DEPTH}"
            fields, aliases = _level(selection_set, fragments)
            max_aliases = max(max_aliases, aliases)
            for f in fields:
                if depth == 1:
                    root_fields += 1
                selections += 1
                if selections > MAX_SELECTIONS:
                    return f"Query exceeds maximum total selections of {MAX_SELECTIONS}"
                if f.selection_set is not None:
                    stack.append((f.selection_set, depth + 1))
    if root_fields > MAX_ROOT_FIELDS:
        return _count_error(MAX_ROOT_FIELDS, "root fields", root_fields)
    if max_aliases > MAX_ALIASES:
        return _count_error(MAX_ALIASES, "aliases", max_aliases)
    return None


def _level(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[list[FieldNode], int]:
    """The fields of one level, inline fragments and spread fragments merged in (each fragment once
    per level: a fragment that spreads itself deeper down counts towards the depth instead), and how
    many of them carry an alias. Aliases count per level, over all the fragments merged into it."""
    fields: list[FieldNode] = []
    aliases = 0
    spread: set[str] = set()
    pending: list[SelectionNode] = list(selection_set.selections)
    while pending:
        node = pending.pop()
        if isinstance(node, FieldNode):
            fields.append(node)
            aliases += node.alias is not None
        elif isinstance(node, InlineFragmentNode):
            pending.extend(node.selection_set.selections)
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            if name in spread:
                continue
            spread.add(name)
            fragment = fragments.get(name)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
    return fields, aliases


def _count_error(limit: int, what: str, got: int) -> str:
    # The reference's message, less its last sentence (which names the variable that raises its
    # limit: Runyard's limits are fixed).
    return f"GraphQL queries should have at most {limit} {what}, got {got} {what}."
