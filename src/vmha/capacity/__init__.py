"""Failover capacity: whether each segment can absorb the loss of its largest hosts (admission control)."""

from vmha.capacity.model import RESOURCE_CLASSES, HostCapacity, Movable, Verdict, check

__all__ = ["RESOURCE_CLASSES", "HostCapacity", "Movable", "Verdict", "check"]
