"""A post's settings: subtitle, byline, type, visibility, SEO, thumbnail, schedule.

Every field is checked as it is typed, against the same limits the store enforces, and a
bad value is marked on its field with the reason. Closing never throws text away: the
valid values go to the editor to be saved, the raw text of every field (invalid ones
included) is kept by the editor and shown again next time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import ValidationError as PydanticError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static, Switch

from post001.core.models import (
    BYLINE_MAX,
    META_DESCRIPTION_MAX,
    SEO_TITLE_MAX,
    SUBTITLE_MAX,
    THUMBNAIL_URL_MAX,
    Post,
    PostType,
    PostUpdate,
)
from post001.tui.screens.base import BaseModal
from post001.tui.sizes import SizeClasses

#: Text fields: (name, label, limit, placeholder)
TEXT_FIELDS: tuple[tuple[str, str, int, str], ...] = (
    ("subtitle", "Subtitle", SUBTITLE_MAX, "A line under the title"),
    ("byline", "Byline", BYLINE_MAX, "How the author is credited"),
    ("seo_title", "SEO title", SEO_TITLE_MAX, "Shown in search results"),
    ("meta_description", "Meta description", META_DESCRIPTION_MAX,
     "A sentence or two for search results and link previews"),
    ("thumbnail_url", "Thumbnail URL", THUMBNAIL_URL_MAX, "https://…"),
    ("publish_at", "Schedule", 0, "YYYY-MM-DD HH:MM (your local time); empty = publish now"),
)
SCHEDULE_FORMAT = "%Y-%m-%d %H:%M"

Result = tuple[dict[str, Any], dict[str, str]]


def format_schedule(value: datetime | None) -> str:
    return value.astimezone().strftime(SCHEDULE_FORMAT) if value else ""


def parse_field(name: str, raw: str, now: datetime | None = None) -> tuple[Any, str | None]:
    """(value, None) when `raw` is valid for `name`, else (None, the reason)."""
    value: Any = raw
    if name == "publish_at":
        if not raw.strip():
            return None, None
        try:
            local = datetime.strptime(raw.strip(), SCHEDULE_FORMAT)
        except ValueError:
            return None, "use the form YYYY-MM-DD HH:MM, e.g. 2026-03-01 09:30"
        value = local.astimezone().astimezone(UTC)
        if now is not None and value <= now:
            return None, "must be in the future (leave empty to publish at once)"
        return value, None
    if name == "thumbnail_url":
        value = raw.strip() or None
    try:
        PostUpdate.model_validate({name: value})
    except PydanticError as exc:
        error = exc.errors()[0]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "string_too_long":
            limit = error.get("ctx", {}).get("max_length")
            message = f"{len(raw)} characters; the limit is {limit}"
        return None, message
    return value, None


class PostSettingsScreen(SizeClasses, BaseModal[Result | None]):
    """Returns (valid values, raw text of every field)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("ctrl+s", "close", "Apply"),
    ]

    def __init__(self, post: Post | None, raw: dict[str, str], pending: dict[str, Any],
                 *, subtitle: str,
                 on_exit: Callable[[Result | None], None] | None = None) -> None:
        super().__init__()
        self.on_exit = on_exit  # where the values go if the app quits with this open
        self.post = post
        self.raw = dict(raw)
        self.pending = pending
        self.subtitle = subtitle
        self.errors: dict[str, str] = {}

    def _initial(self, name: str) -> Any:
        if name in self.pending:
            return self.pending[name]
        if name == "subtitle":
            return self.subtitle
        if self.post is not None:
            return getattr(self.post, name)
        return PostUpdate.model_fields[name].default if name in PostUpdate.model_fields else None

    def _initial_text(self, name: str) -> str:
        if name in self.raw:
            return self.raw[name]
        value = self._initial(name)
        if name == "publish_at":
            return format_schedule(value)
        return "" if value is None else str(value)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog wide"):
            yield Label("Post settings", classes="dialog-title")
            with VerticalScroll(id="settings-form"):
                for name, label, _limit, placeholder in TEXT_FIELDS:
                    with Vertical(classes="field", id=f"field-{name}"):
                        with Horizontal(classes="field-head"):
                            yield Label(label, classes="field-label")
                            yield Static("", id=f"count-{name}", classes="counter")
                        yield Input(self._initial_text(name), placeholder=placeholder,
                                    id=f"in-{name}")
                        yield Static("", id=f"error-{name}", classes="field-error")
                with Horizontal(classes="field-row"):
                    yield Label("Post type", classes="field-label")
                    post_type = self._initial("post_type") or PostType.TEXT
                    yield Select([(t.value, t.value) for t in PostType],
                                 value=PostType(post_type).value, allow_blank=False,
                                 id="in-post_type")
                with Horizontal(classes="field-row"):
                    yield Label("Public", classes="field-label")
                    public = self._initial("is_public")
                    yield Switch(value=True if public is None else bool(public), id="in-is_public")
                    yield Static("anyone can read it once published; off = members of the "
                                 "collectives only", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Done (ctrl+s)", id="done", variant="primary")

    def on_mount(self) -> None:
        for name, *_ in TEXT_FIELDS:
            self._check(name, self.query_one(f"#in-{name}", Input).value)
        self.query_one("#in-subtitle", Input).focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("in-")
        self._check(name, event.value)

    def _check(self, name: str, raw: str) -> None:
        limit = next((f[2] for f in TEXT_FIELDS if f[0] == name), 0)
        if limit:
            counter = self.query_one(f"#count-{name}", Static)
            counter.update(f"{len(raw)}/{limit}")
            counter.set_class(len(raw) > limit, "-over")
        _, reason = parse_field(name, raw, self.papp.clock())
        field = self.query_one(f"#field-{name}")
        error = self.query_one(f"#error-{name}", Static)
        if reason:
            self.errors[name] = reason
            error.update(f"✗ {reason}")
        else:
            self.errors.pop(name, None)
            error.update("")
        error.display = bool(reason)  # no blank line under a valid field
        field.set_class(bool(reason), "-invalid")
        self.query_one(f"#in-{name}", Input).set_class(bool(reason), "-invalid")

    def result(self) -> Result:
        valid: dict[str, Any] = {}
        raw: dict[str, str] = {}
        now = self.papp.clock()
        for name, *_ in TEXT_FIELDS:
            text = self.query_one(f"#in-{name}", Input).value
            value, reason = parse_field(name, text, now)
            if reason:
                raw[name] = text  # kept for next time, with its error
            else:
                valid[name] = value
        valid["post_type"] = PostType(str(self.query_one("#in-post_type", Select).value))
        valid["is_public"] = self.query_one("#in-is_public", Switch).value
        return valid, raw

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "done":
            self.action_close()

    def flush_for_exit(self) -> list[Any]:
        """Quitting with the dialog open: what was typed here is applied, not dropped."""
        if self.on_exit is not None:
            on_exit, self.on_exit = self.on_exit, None
            on_exit(self.result())
        return []

    def action_close(self) -> None:
        if self.errors:
            names = ", ".join(sorted(self.errors))
            self.notify(f"Not applied yet: {names}. What you typed is kept here.",
                        title="Check the marked fields", severity="warning")
        self.dismiss(self.result())
