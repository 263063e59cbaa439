"""What every layer shares: settings, errors, ids, identity, documents, small utilities."""
