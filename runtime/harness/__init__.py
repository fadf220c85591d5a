"""The skill test harness: scripted conversations with assertions (``docs/harness.md``).

``scenario`` loads and validates files, ``fixtures`` generates their media, ``runner``
runs them against a fresh engine, ``checks`` evaluates ``expect:``, ``report`` prints
and writes JUnit, ``record`` captures a real session as a scenario skeleton, and
``pytest_plugin`` collects ``*.scenario.yaml`` files as pytest items.
"""
