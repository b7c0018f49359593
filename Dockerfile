FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY config ./config
RUN pip install --no-cache-dir .
ENV MONITOR_CONFIG=/app/config/examples/compose.yaml
ENTRYPOINT ["monitor"]
CMD ["run"]
