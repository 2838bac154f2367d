DEFAULTS = {"retries": 3}


def timeout_of(settings):
    # A missing timeout means "no timeout" (None).
    return settings["timeout"]
