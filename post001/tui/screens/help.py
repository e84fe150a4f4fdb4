"""Every key, grouped by screen, plus what the screen in front is for."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Markdown

HELP = """\
## Everywhere
| Key | Does |
|---|---|
| `ctrl+p` | command palette: every action by name |
| `f1` or `?` | this help |
| `escape` | back |
| `ctrl+q` | quit (saves your draft first) |

## Dashboard
| Key | Does |
|---|---|
| `n` | write a new post (the cursor lands in the title) |
| `enter` | open the selected post |
| `/` | filter your posts by title |
| `s` | search every published post you can read |
| `d` | recovered drafts (shown when a failed save left text on this machine) |
| `r` | review queue |
| `c` | create a collective |
| `u` / `a` | unpublish / archive the selected post |
| `delete` | delete the selected draft (never-published drafts only; asks first) |
| `,` | preferences (theme, auto-save delay, picker filter) |
| `f5` | refresh |

## Editor
| Key | Does |
|---|---|
| `tab` | title → body |
| `ctrl+s` | save now (it also saves by itself as you type) |
| `f2` / `ctrl+t` | settings: subtitle, byline, SEO, schedule… |
| `f3` / `ctrl+l` | choose collectives |
| `f4` / `ctrl+r` | Markdown preview |
| `f5` / `ctrl+g` | revision history and restore |
| `f6` / `ctrl+o` | open the body in `$EDITOR` |
| `f9` / `ctrl+b` | check and publish |
| `f8` | unpublish |

## Collective picker
| Key | Does |
|---|---|
| type | search by name or slug |
| `↑` `↓` | move |
| `space` | select / deselect |
| `enter` | confirm the selection |
| `escape` | cancel (nothing changes) |
| `ctrl+a` | select every collective you can post to |
| `ctrl+l` | clear the selection |
| `ctrl+f` | only where I can post, on or off |
| `ctrl+o` | sort by role, name or members |

## Review queue
| Key | Does |
|---|---|
| `a` | approve |
| `x` | reject with a reason |

## Search
| Key | Does |
|---|---|
| type | search published posts (title, subtitle and text) |
| `↓` / `enter` | to the results |
| `enter` | open: your own posts in the editor, others' read-only |

## Recovered drafts
| Key | Does |
|---|---|
| `r` / `enter` | restore into the original post (or as a new draft if it is gone) |
| `n` | open as a new draft |
| `x` | discard (asks first) |

## Saving
Your draft saves about a second after you stop typing, at least every ten seconds while you
type, and at once when you leave the editor or quit. The status line says *saving*,
*saved at HH:MM*, *unsaved changes*, *save failed (retrying)* or *offline*. If someone else
changed the post meanwhile you choose which text to keep; neither is thrown away. When a
save cannot reach the database the text is kept on this machine; the dashboard then shows
*Recovered drafts* until you restore or discard it.
"""


class HelpScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "close", "Close"),
    ]

    def __init__(self, under: Screen[object] | None = None) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label("post001 keys", classes="dialog-title")
            with VerticalScroll():
                yield Markdown(HELP)

    def action_close(self) -> None:
        self.app.pop_screen()
