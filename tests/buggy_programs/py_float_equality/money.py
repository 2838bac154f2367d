def add_prices(a, b):
    return a + b
