"""compose.yaml cannot run on a machine without Docker; this keeps it consistent with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.platform.registry import BY_NAME as SERVICES
from shared.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SETTING_NAMES = {field.alias for field in Settings.model_fields.values()}


def test_infrastructure_uses_the_official_images():
    services = COMPOSE["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["mongo"]["image"].startswith("mongo:")
    for name in ("kafka", "mongo"):
        assert "healthcheck" in services[name]


def test_every_platform_service_is_there_and_runs_its_module():
    services = COMPOSE["services"]
    for name in SERVICES:
        assert services[name]["command"] == [name], name
        assert services[name]["build"] == "."
        depends = services[name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["mongo"]["condition"] == "service_healthy"


def test_service_environment_names_real_settings_and_points_at_the_containers():
    services = COMPOSE["services"]
    kafka_env = services["kafka"]["environment"]
    for name in SERVICES:
        env = services[name]["environment"]
        assert set(env) <= SETTING_NAMES, set(env) - SETTING_NAMES
        assert env["KAFKA_BOOTSTRAP_SERVERS"] in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
        assert "@mongo:27017/" in env["MONGODB_URL"]  # with a user and password
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        Settings.model_validate(env)  # every value parses


def test_api_port_matches_the_settings_and_is_published():
    api = COMPOSE["services"]["jobcenter-api"]
    settings = Settings.model_validate(api["environment"])
    assert settings.api_port == 8080 == Settings().api_port
    [published] = api["ports"]
    host, container = published.split(":")
    first, last = (int(port) for port in host.split("-"))
    assert first == settings.api_port == int(container)
    assert last - first + 1 == api["deploy"]["replicas"]  # a host port for each replica
    assert settings.api_host == "0.0.0.0"
    assert all(":" in holder for holder in settings.api_tokens.values())


def test_each_kafka_service_is_healthy_only_when_ready():
    services = COMPOSE["services"]
    for name in ("provisioner", "storage", "jobnet-adapter", "akasse-adapter", "notifier"):
        check = " ".join(services[name]["healthcheck"]["test"])
        assert "/health/ready" in check, name


def test_kafka_and_mongo_require_credentials():
    services = COMPOSE["services"]
    assert services["kafka"]["entrypoint"] == ["/etc/dfdg/kafka-start.sh"]
    assert "MONGO_INITDB_ROOT_PASSWORD" in services["mongo"]["environment"]
    assert "ports" not in services["mongo"]  # the database is the services' alone
    assert services["provisioner"]["environment"]["KAFKA_SASL_USERNAME"] == "admin"
    start = (ROOT / "infra" / "compose" / "kafka-start.sh").read_text()
    assert "--add-scram" in start


def test_dockerfile_runs_the_service_entry_point():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "services"]' in dockerfile
    assert "constraints.txt" in dockerfile


def test_every_service_runs_scaled_out_like_run_instances():
    """Two of each (`deploy.replicas`); the infrastructure once."""
    services = COMPOSE["services"]
    for name in SERVICES:
        assert services[name]["deploy"]["replicas"] == 2, name
    for name in ("kafka", "mongo"):
        assert "deploy" not in services[name]
