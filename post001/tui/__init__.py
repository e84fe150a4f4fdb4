"""The post001 terminal app (Textual). It talks to the core only through the Store."""
