"""The nightly allocation against the book (:mod:`allocator.store`).

* :mod:`allocator.nightly.intake` - referrals in, row by row, rejects out;
* :mod:`allocator.nightly.continuity` - pins, rejected pairs and the move limit in the model;
* :mod:`allocator.nightly.run` - the run: read, fingerprint, solve, write once;
* :mod:`allocator.nightly.explain` - why each suggestion, why each unmet referral;
* :mod:`allocator.nightly.decisions` - brokers accept or reject suggestions;
* :mod:`allocator.nightly.morning` - the morning report (XLSX and HTML).
"""
