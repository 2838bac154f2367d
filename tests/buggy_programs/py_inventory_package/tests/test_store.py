import unittest

from inventory.store import Store


class StoreTest(unittest.TestCase):
    def test_total(self):
        s = Store()
        s.add("a", 2)
        self.assertEqual(s.total(), 2)

    def test_remove_missing(self):
        s = Store()
        with self.assertRaises(ValueError):
            s.remove("ghost", 1)
