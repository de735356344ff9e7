"""Code that runs inside Rasa's own environment (Python 3.10, Rasa 3.6, SQLAlchemy 1.4), named by
the generated endpoints.yml. The app never imports these modules."""
