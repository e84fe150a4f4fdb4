"""Posts as Markdown files with YAML front matter, both ways.

    ---
    title: Hello
    subtitle: A first post
    public: true
    collectives: [cooking, weekend-bakers]
    ---
    The body, in Markdown, kept byte for byte.

`read_post_document` turns such text into the fields of a new post; `render_post_document`
writes a post back out so that reading the result gives an equal post. Headless: the CLI
and the TUI's "open in $EDITOR" both use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from post001.core.errors import ValidationError
from post001.core.models import Post, PostType

#: Front matter key -> post field. `public` is the file's name for `is_public`.
FRONT_MATTER_KEYS: dict[str, str] = {
    "title": "title",
    "subtitle": "subtitle",
    "byline": "byline",
    "public": "is_public",
    "is_public": "is_public",
    "post_type": "post_type",
    "seo_title": "seo_title",
    "meta_description": "meta_description",
    "thumbnail_url": "thumbnail_url",
    "publish_at": "publish_at",
    "metadata": "metadata",
}
COLLECTIVES_KEY = "collectives"

_TEXT_FIELDS = ("title", "subtitle", "byline", "seo_title", "meta_description")
# The opening line is exactly '---'; the block ends at the next '---' or '...' line.
_OPENING = re.compile(r"\A---[ \t]*\r?\n")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)


@dataclass
class PostDocument:
    """What a Markdown file says about a post."""

    #: Post fields (names as on `PostFields`) that the file sets; absent keys are left out.
    fields: dict[str, Any] = field(default_factory=dict)
    #: Collective slugs from `collectives:`; None when the file does not mention them.
    collectives: list[str] | None = None
    #: Front matter keys post001 does not know (kept out of the post, reported to the user).
    ignored: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        return str(self.fields.get("content", ""))


def _invalid(message: str, *, field: str) -> ValidationError:
    return ValidationError(
        message, field=field, actions=["Correct the value and try again; nothing was saved."]
    )


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter YAML or None, body). The body is returned exactly as written."""
    if text.startswith("\ufeff"):
        text = text[1:]
    opening = _OPENING.match(text)
    if not opening:
        return None, text
    closing = _CLOSING.search(text, opening.end())
    if not closing:
        return None, text  # a lone '---' line is a Markdown rule, not front matter
    return text[opening.end() : closing.start()], text[closing.end() :]


def read_post_document(text: str) -> PostDocument:
    """Parse Markdown with optional front matter. Raises ValidationError naming the key."""
    raw, body = split_front_matter(text)
    doc = PostDocument(fields={"content": body})
    if raw is None:
        return doc
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise _invalid(
            f"The front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
            field="front_matter",
        ) from None
    if meta is None:
        return doc
    if not isinstance(meta, dict):
        raise _invalid(
            "The front matter must be a mapping of keys to values (e.g. 'title: Hello').",
            field="front_matter",
        )
    for key, value in meta.items():
        name = str(key)
        if name == COLLECTIVES_KEY:
            doc.collectives = _collectives(value)
        elif name in FRONT_MATTER_KEYS:
            target = FRONT_MATTER_KEYS[name]
            doc.fields[target] = _coerce(target, value)
        else:
            doc.ignored.append(name)
    return doc


def render_post_document(post: Post) -> str:
    """The post as Markdown with front matter; `read_post_document` reads it back equal."""
    meta: dict[str, Any] = {"title": post.title}
    for name in ("subtitle", "byline"):
        if getattr(post, name):
            meta[name] = getattr(post, name)
    meta["public"] = post.is_public
    if post.post_type is not PostType.TEXT:
        meta["post_type"] = post.post_type.value
    for name in ("seo_title", "meta_description", "thumbnail_url"):
        if getattr(post, name):
            meta[name] = getattr(post, name)
    if post.publish_at is not None:
        meta["publish_at"] = post.publish_at.isoformat()
    if post.metadata:
        meta["metadata"] = post.metadata
    meta[COLLECTIVES_KEY] = [share.collective for share in post.shares]
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1_000_000)
    return f"---\n{header}---\n{post.content}"


def _collectives(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = [part for part in re.split(r"[,\s]+", value) if part]
    elif isinstance(value, list):
        items = value
    else:
        raise _invalid(
            "collectives must be a list of collective slugs, e.g. [cooking, travel].",
            field=COLLECTIVES_KEY,
        )
    slugs: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise _invalid(
                f"collectives must be slugs (text); got {item!r}.", field=COLLECTIVES_KEY
            )
        slug = item.strip()
        if slug not in slugs:
            slugs.append(slug)
    return slugs


def _coerce(target: str, value: Any) -> Any:
    """YAML types to post field types; the models check the limits afterwards."""
    if target in _TEXT_FIELDS:
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            raise _invalid(f"{target} must be text.", field=target)
        return str(value)
    if target == "is_public":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "yes", "on", "false",
                                                                 "no", "off"}:
            return value.strip().lower() in {"true", "yes", "on"}
        raise _invalid("public must be true or false.", field="is_public")
    if target == "thumbnail_url":
        return None if value in (None, "") else str(value)
    if target == "post_type":
        try:
            return PostType(str(value))
        except ValueError:
            kinds = ", ".join(t.value for t in PostType)
            raise _invalid(
                f"post_type must be one of {kinds}; got {value!r}.", field="post_type"
            ) from None
    if target == "publish_at":
        return parse_datetime(value, field_name="publish_at")
    if target == "metadata":
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _invalid("metadata must be a mapping.", field="metadata")
        return value
    return value  # pragma: no cover - every key is handled above


def parse_datetime(value: Any, *, field_name: str = "publish_at") -> datetime | None:
    """ISO 8601 text (or a YAML timestamp) to a datetime; naive means UTC."""
    from post001.core.clock import as_utc

    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise _invalid(
            f"{field_name} must be an ISO 8601 date and time such as "
            f"2026-03-01T09:30:00+01:00; got {value!r}.",
            field=field_name,
        ) from None
