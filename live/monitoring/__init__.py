"""Live monitoring: Prometheus metrics, structured JSON logs with redaction, the JSON status
endpoint, and the alert sink that feeds risk alerts to both logs and metrics."""

from live.monitoring.endpoint import StatusEndpoint
from live.monitoring.logs import RedactSecrets, make_logger
from live.monitoring.metrics import LiveMetrics
from live.monitoring.sinks import InstrumentedBroker, MetricsAlertSink

__all__ = ["InstrumentedBroker", "LiveMetrics", "MetricsAlertSink", "RedactSecrets",
           "StatusEndpoint", "make_logger"]
