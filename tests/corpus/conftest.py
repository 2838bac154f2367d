# The corpus repository holds deliberately broken code and its own tests: never collect it.
collect_ignore = ["repo", "make_corpus.py"]
