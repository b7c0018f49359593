"""Running monitor for months: the HTTP endpoint, metrics, source alarms, retention and the
single-instance guard. Each module is wired in by ``monitor.daemon``; none imports another
heavy library at package import."""
