class Cart:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.itmes.append(item)
        return len(self.items)
