"""The StepContext the runtime hands to each step run: ``vmha.context.RunContext`` (kept in the core so
operator tools build one without importing the runtime)."""

from vmha.context import RunContext, new_request_id, notification_of

__all__ = ["RunContext", "new_request_id", "notification_of"]
