"""The headless core: models, rules, publishing and stores. Never imports a UI or web framework."""
