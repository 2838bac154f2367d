def with_tax(price, rate=0.25):
    total = round(price * (1 + rate), 2)
