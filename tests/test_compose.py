"""docker-compose.yml, the Dockerfile and the config they run agree with one another.

Docker is not available on the project's machines, so ``docker compose up`` never runs in
CI (the same topology is tested directly by ``tests/e2e/test_scale_out.py``). What can
silently break is checked here: the services the file names, the config the image runs,
and the environment that config takes its database and SMTP host from.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import yaml

from monitor.config.load import load_config
from monitor.config.model import EmailChannel
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
INSTANCES = [name for name, service in SERVICES.items() if service.get("build") == "."]


def _dockerfile(pattern: str) -> str:
    found = re.search(pattern, DOCKERFILE, re.M)
    assert found is not None, f"the Dockerfile has no line {pattern!r}"
    return found.group(1)


WORKDIR = _dockerfile(r"^WORKDIR (\S+)$")
IMAGE_CONFIG = _dockerfile(r"^ENV MONITOR_CONFIG=(\S+)$")  # a path inside the image


def test_two_instances_of_this_image_share_the_database() -> None:
    assert len(INSTANCES) == 2  # the scale-out topology: leases share the work
    first, second = (SERVICES[name] for name in INSTANCES)
    assert first["environment"] == second["environment"]
    for service in SERVICES.values():
        for needed in service.get("depends_on", {}):
            assert needed in SERVICES, f"depends_on names no service: {needed}"


def test_the_image_runs_a_shipped_config() -> None:
    assert "COPY config ./config" in DOCKERFILE
    assert IMAGE_CONFIG.startswith(WORKDIR + "/config/")
    assert (ROOT / IMAGE_CONFIG.removeprefix(WORKDIR + "/")).is_file()


@pytest.mark.parametrize("instance", INSTANCES)
def test_the_config_under_compose_reaches_its_postgres_and_mailpit(
    instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = SERVICES[instance]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    config = load_config(ROOT / IMAGE_CONFIG.removeprefix(WORKDIR + "/"))

    database = urlsplit(config.database)
    postgres = SERVICES["postgres"]["environment"]
    assert database.scheme == "postgresql+psycopg"
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
    )
    assert database.path == "/" + postgres["POSTGRES_DB"]

    mail = [c for c in config.channels if isinstance(c, EmailChannel)]
    assert mail, "the compose config sends no email to the mail catcher"
    for channel in mail:
        assert channel.smtp.host in SERVICES  # the mailpit service, by its name
        assert channel.smtp.port == 1025  # Mailpit's SMTP port
