"""The caseworker queue: a server-rendered web app (``/caseworker``) and an integration API
(``/api/v1``) over the referrals the assistant creates. See docs/caseworker.md."""
