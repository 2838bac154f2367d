from shapes import area_circle


def describe(radius):
    return f"area={area_circle(radius):.2f}"
