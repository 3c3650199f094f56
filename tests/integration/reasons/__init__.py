"""One scenario per documented error reason, grouped by family; ``test_every_reason`` runs
them against the contract read from docs/errors.md."""
