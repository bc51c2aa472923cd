"""Recovery time: each host recovery's phase timeline from the journal, per segment against its objective."""

from vmha.rto.timeline import PHASES, SegmentReport, Timeline, segment_reports, timeline

__all__ = ["PHASES", "SegmentReport", "Timeline", "segment_reports", "timeline"]
