"""Signals other apps listen to (the scheduler re-plans when contracts change)."""

from django.dispatch import Signal

# Sent after commit with contract_ids=[...] when contracts are signed, renewed or terminated.
contract_changed = Signal()
