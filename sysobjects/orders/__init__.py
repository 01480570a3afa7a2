"""Orders at three levels (instrument, contract, broker), their state machines, and the
immutable ledger records (fills, commission reports, order events, position adjustments)."""
