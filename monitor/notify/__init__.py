"""Alert channels: render an alert and send it by email, webhook or the log.

``payload``  the SPEC section 4 webhook JSON, built from an ``AlertView``.
``render``   Jinja2 rendering of the email subject, text and HTML (shipped or operator templates).
``base``     the ``Channel`` protocol every sender implements.
``slack``    the chat message (``format: slack`` webhooks): mrkdwn text plus blocks.
``webhook``, ``email``, ``log``  one sender each; ``registry`` lists them by config ``type``.

Senders only send: the outbox, retries and scheduling live in ``monitor.delivery``.
"""
