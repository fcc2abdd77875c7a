"""The book in a relational database (SQLAlchemy 2.x; SQLite by default, PostgreSQL by URL).

* :mod:`allocator.store.models` - the tables;
* :mod:`allocator.store.engine` - URLs, engines, transactions;
* :mod:`allocator.store.migrate` - Alembic migrations shipped in the package;
* :mod:`allocator.store.book` - import a market, export it back as an instance;
* :mod:`allocator.store.lock` - the exclusive lock of the nightly run.

Nothing is imported here, so that ``import allocator.store`` stays cheap.
"""
