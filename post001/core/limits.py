"""Defaults a writer meets before any store answers, with no imports of their own.

post001.core.models declares every field limit and re-exports these; they live apart
so that the TUI can show its first screen (and the CLI parse its options) without
loading pydantic. A store's own settings can raise or lower the first two
(post001.core.config.Settings); `Store.limits()` tells what is in force.
"""

#: Characters of Markdown a post may hold, unless the settings say otherwise.
DEFAULT_CONTENT_MAX = 200_000
#: Collectives one post may be shared with, unless the settings say otherwise.
DEFAULT_MAX_COLLECTIVES = 10
#: The page size of a writer's listing when the caller names none.
DEFAULT_PAGE_SIZE = 50
#: The largest page a listing serves in one call.
MAX_PAGE_SIZE = 200
