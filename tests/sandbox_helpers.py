"""Patches that keep a sandbox busy, for the emergency-stop tests and bench/emergency_stop.py."""

from __future__ import annotations

# A new test that never ends: the patched run stays busy until something kills it.
ENDLESS_TEST = """--- /dev/null
+++ b/test_endless.py
@@ -0,0 +1,6 @@
+import time
+
+
+def test_endless():
+    while True:
+        time.sleep(0.01)
"""
