class Stack:
    def __init__(self):
        self.items = []

    def push(item):
        self.items.append(item)

    def size(self):
        return len(self.items)
