"""The `post001` command line: every use case of the store, scriptable with --json."""
