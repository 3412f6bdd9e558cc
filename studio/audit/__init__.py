"""The audit trail: who changed what that decides verdicts, when and why (hash-chained, append-only)."""
from studio.audit.trail import ACTIONS, FILE_NAME, AuditTrail, Verification

__all__ = ["ACTIONS", "FILE_NAME", "AuditTrail", "Verification"]
