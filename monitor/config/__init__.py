"""Configuration: YAML file → validated, typed, frozen settings.

``load_config(path)`` is the entry point; it raises ``ConfigError`` listing every problem,
one line each, naming the place (``sources[1].url: ...``).
"""
