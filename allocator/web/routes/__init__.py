"""The pages, one router per area: the book and referrals (brokers), the nightly run and its
suggestions (brokers), design comparisons and mini-competitions (commissioners), users and
the audit log (admins)."""
