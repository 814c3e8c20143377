"""Backpropagate's desktop app: a PySide6 window that drives the engine worker over QProcess.

Nothing in this package imports torch or the Hugging Face stack; the engine runs in its own
process and talks to the app through ``engine.protocol``.
"""

APP_NAME = "Backpropagate"
ORGANIZATION = "Backpropagate"
