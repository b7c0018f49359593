"""Alert channels: render messages and send them by email, webhook or the log.

``base``     the ``Channel`` protocol every sender implements, and what one message is
             (the alerts of one story, or one alert on a JSON webhook).
``payload``  the SPEC section 4 webhook JSON, built from an ``AlertView``.
``bounds``   how much of a release a message or webhook body carries (3 snippets per rule,
             600 characters of summary, 64 KB).
``context``  what the templates see: a story, a digest, an alarm notice; times local.
``render``   Jinja2 rendering of the email subject, text and HTML (shipped or operator templates).
``template_check``  ``monitor check`` of every template (the chat ones too) with sample alerts.
``headers``  RFC 2047 email headers that keep every space of an Arabic subject.
``slack``    the chat message (``format: slack`` webhooks): mrkdwn text plus blocks.
``webhook``, ``email``, ``log``  one sender each; ``registry`` lists them by config ``type``.
``breaker``  waiting after failures: each alert's backoff, each channel's circuit breaker.

Senders only send: the outbox, retries and scheduling live in ``monitor.delivery``.
"""
