class Store:
    def __init__(self):
        self.stock = {}

    def add(self, name, qty):
        self.stock[name] = self.stock.get(name, 0) + qty

    def remove(self, name, qty):
        if self.stock[name] < qty:
            raise ValueError("not enough")
        self.stock[name] -= qty

    def total(self):
        return sum(self.stok.values())
