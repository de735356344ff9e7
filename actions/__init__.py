"""Rasa custom actions (rasa_sdk), served by ``python -m rasa_sdk --actions actions``.

They run with the app's Python and may use the app's store directly.
"""
