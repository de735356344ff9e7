"""Intake: answer parsing (EN/FR), country names, screening rules and saved progress.

Pure functions here know nothing of Rasa; ``actions/intake.py`` wires them into the form.
"""
