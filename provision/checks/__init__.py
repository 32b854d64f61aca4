"""After apply: verify (smoke calls, membership probe) and revoke (strip access, prove it)."""
