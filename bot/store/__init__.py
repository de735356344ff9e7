"""The app's data: SQLAlchemy 2 models, the database connection and repositories."""
