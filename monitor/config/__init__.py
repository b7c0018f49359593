"""Configuration: YAML file → validated, typed, frozen settings.

``load_config(path)`` is the entry point (``read_config`` also returns the warnings); it
raises ``ConfigError`` listing every problem, one line each, naming the file, the line and
the place (``monitor.yaml:7: sources[1] (mofa).url: …``). ``yamlfile`` reads the file
within bounds; ``problems`` words each problem; ``values`` checks addresses, language codes
and time zones; ``checks`` what spans several parts.
"""
