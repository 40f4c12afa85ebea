"""Names: model classes for component schemas, and facade method names for operations."""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from typing import Any

from openapi_python_client.config import Config
from openapi_python_client.parser.properties import Class
from openapi_python_client.strings import pascal_case, split_words

from codegen.spec import SpecError

#: Per tag, the noun(s) an operationId carries for that tag, singular, in preference order.
#: Each is removed from the operationId in its plural form too ("User" also removes "Users").
#: A tag not listed here uses its own name, singularised ("groups" -> "Group").
TAG_NOUNS: Mapping[str, Sequence[str]] = {
    "me": ("My", "Me"),
    "federation": ("FederationConnection", "SsoConnection", "Federation", "Connection"),
    "resource_types": ("ResourceType",),
    "oauth2": ("OAuth2", "Oauth2"),
}


def component_class(schema_name: str, schema: Mapping[str, Any], config: Config) -> Class:
    """The class openapi-python-client generates for ``#/components/schemas/<schema_name>``.

    Mirrors ``ModelProperty.build`` and ``EnumProperty.build``: the title wins over the name,
    and ``class_overrides`` apply.
    """
    title = schema.get("title")
    return Class.from_string(string=title if isinstance(title, str) else schema_name, config=config)


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith("s"):
        return word
    return word + "s"


def tag_nouns(tag: str) -> list[list[str]]:
    """The nouns to remove for `tag` (its python identifier), each as a word list, longest first."""
    nouns = TAG_NOUNS.get(tag) or (_singular(pascal_case(tag)),)
    candidates: list[list[str]] = []
    for noun in nouns:
        for form in (_plural(noun), noun):
            words = [word.lower() for word in split_words(form)]
            if words not in candidates:
                candidates.append(words)
    return sorted(candidates, key=len, reverse=True)


def method_name(operation_id: str, tag: str) -> str:
    """The facade method for an operation: the operationId without the tag's noun, snake_case.

    ``listUsers`` -> ``list``, ``listUserGroups`` -> ``list_groups``, ``getMyProfile`` ->
    ``get_profile``. The first occurrence of the longest matching noun (plural or singular) is
    removed as whole words; a Python keyword gets a trailing underscore (``import_``).

    Raises:
        SpecError: If nothing is left, or the result is not an identifier.
    """
    words = [word.lower() for word in split_words(re.sub(r"[^0-9A-Za-z]+", " ", operation_id))]
    for noun in tag_nouns(tag):
        for start in range(len(words) - len(noun) + 1):
            if words[start : start + len(noun)] == noun and len(words) > len(noun):
                words = words[:start] + words[start + len(noun) :]
                break
        else:
            continue
        break
    name = "_".join(words)
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    if not name.isidentifier() or name.startswith("_"):
        raise SpecError(
            f"the operationId {operation_id!r} does not make a method name (got {name!r})",
            location=f"operationId {operation_id}",
            fix="use letters and digits, starting with a letter (camelCase, snake_case or kebab-case)",
        )
    return name
