"""Watch rules: the rule language (SPEC section 3), its one normalisation and the matcher.

``normalize``  the folding used for queries, matching and the full-text index.
``query``      tokenizer, AST, parser and printer of the rule language.
``matcher``    all rules compiled into one immutable ``Matcher`` (Aho-Corasick prefilter).
``snippet``    the ~200-character context shown around a hit.
``report``     ``rules test`` output: JSON lines and highlighted terminal text.
"""
