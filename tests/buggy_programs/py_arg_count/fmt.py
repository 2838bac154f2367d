def label(name, unit):
    return f"{name} [{unit}]"


def header():
    return label("speed")
