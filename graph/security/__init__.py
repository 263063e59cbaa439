"""Who may call and what they may send: tokens, logins, rate and document limits,
persisted queries."""
