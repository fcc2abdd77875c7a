from store.databases import db_url, engine  # noqa: F401  (fixtures)
