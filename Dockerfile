FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY config ./config
RUN pip install --no-cache-dir .
ENV MONITOR_CONFIG=/app/config/examples/compose.yaml
# glibc's malloc for a long-lived process that churns through big buffers (a cold poll
# frees hundreds of MB in small pieces): two arenas and a fixed mmap threshold keep
# resident memory near what is live, in the daemon and its parse workers alike
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144
ENTRYPOINT ["monitor"]
CMD ["run"]
