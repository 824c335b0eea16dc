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


KAFKA_SERVICES = [name for name in SERVICES if name != "jobcenter-api"]
DATABASE_USERS = {
    "storage": "storage", "notifier": "notifier", "jobcenter-api": "jobcenter-api",
    "retention": "retention",
}  # fmt: skip


def passed_on(env: dict[str, object]) -> dict[str, object]:
    """The environment as set here (a name without a value comes from the deployment's)."""
    return {name: value for name, value in env.items() if value is not None}


def test_every_platform_service_is_there_and_runs_its_module():
    services = COMPOSE["services"]
    for name in SERVICES:
        assert services[name]["command"] == [name], name
        assert services[name]["build"] == "."
        depends = services[name]["depends_on"]
        assert depends["mongo"]["condition"] == "service_healthy"
    for name in KAFKA_SERVICES:
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_service_environment_names_real_settings_and_points_at_the_containers():
    services = COMPOSE["services"]
    kafka_env = services["kafka"]["environment"]
    for name in SERVICES:
        env = services[name]["environment"]
        assert set(env) <= SETTING_NAMES, set(env) - SETTING_NAMES
        if name in DATABASE_USERS:
            assert "@mongo:27017/" in env["MONGODB_URL"]  # with a user and password
        else:
            assert "MONGODB_URL" not in env, name  # no database, no database credentials
        if name in KAFKA_SERVICES:
            assert env["KAFKA_BOOTSTRAP_SERVERS"] in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
            assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        Settings.model_validate(passed_on(env))  # every value parses


def test_api_port_matches_the_settings_and_is_published():
    api = COMPOSE["services"]["jobcenter-api"]
    settings = Settings.model_validate(passed_on(api["environment"]))
    assert settings.api_port == 8080 == Settings().api_port
    [published] = api["ports"]
    host, container = published.split(":")
    first, last = (int(port) for port in host.split("-"))
    assert first == settings.api_port == int(container)
    assert last - first + 1 == api["deploy"]["replicas"]  # a host port for each replica
    assert settings.api_host == "0.0.0.0"


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


# -- each container holds its own secrets only (issue 23 item 9) -------------------------------


def volumes(name: str) -> list[dict[str, object]]:
    """A service's volumes in compose's long form (short `src:dst` entries expanded)."""
    found = []
    for entry in COMPOSE["services"][name].get("volumes", []):
        if isinstance(entry, str):
            source, target, *_ = entry.split(":")
            entry = {"type": "volume", "source": source, "target": target}
        found.append(entry)
    return found


def test_a_service_mounts_only_its_own_kafka_password_and_the_api_none():
    credentials = [
        (name, v) for name in SERVICES for v in volumes(name) if v["source"] == "credentials"
    ]
    mounted = {name: v for name, v in credentials}
    assert len(mounted) == len(credentials), "a service mounts the credentials twice"
    assert "jobcenter-api" not in mounted  # no Kafka, no Kafka password
    whole = mounted.pop("provisioner")  # the admin writes them all
    assert "volume" not in whole
    env = COMPOSE["services"]["provisioner"]["environment"]
    folder = env["JOBLOG_SERVICE_CREDENTIALS_DIR"]
    assert folder.startswith(whole["target"] + "/")
    for name in KAFKA_SERVICES:
        if name == "provisioner":
            continue
        own = mounted.pop(name)
        assert own["read_only"] is True, name
        assert own["volume"] == {"subpath": f"{folder.removeprefix('/credentials/')}/{name}"}
        service_env = COMPOSE["services"][name]["environment"]
        assert "JOBLOG_KAFKA_CREDENTIALS" not in service_env, name  # not the parties' file
        settings = Settings.model_validate(passed_on(service_env))
        assert settings.platform_credentials_file is not None
        assert str(settings.platform_credentials_file.parent) == own["target"]
        assert settings.service_credentials_dir is None
        assert "provisioner" in COMPOSE["services"][name]["depends_on"]  # the file is there
    assert mounted == {}


def test_no_default_api_tokens():
    api = COMPOSE["services"]["jobcenter-api"]["environment"]
    assert api["JOBLOG_API_TOKENS"] is None  # the deployment's own, or none (OIDC)
    assert "change-me" not in (ROOT / "compose.yaml").read_text()


def test_each_service_uses_the_database_as_a_user_of_its_own_with_the_roles_it_needs():
    users = (ROOT / "infra" / "compose" / "mongo-users.js").read_text()
    mongo = COMPOSE["services"]["mongo"]
    assert (
        "./infra/compose/mongo-users.js:/docker-entrypoint-initdb.d/mongo-users.js:ro"
        in (mongo["volumes"])
    )
    for name, user in DATABASE_USERS.items():
        url = COMPOSE["services"][name]["environment"]["MONGODB_URL"]
        assert url.startswith(f"mongodb://{user}:${{MONGO_"), name
        assert url.endswith("@mongo:27017/?authSource=dfdg"), name
        variable = url.split("${")[1].split(":?")[0]
        assert variable in mongo["environment"], variable  # the same password made the user
        assert f'["{user}", process.env.{variable},' in users, user
    assert '["storage", process.env.MONGO_STORAGE_PASSWORD, [{ role: "readWrite"' in users
    assert '["notifier", process.env.MONGO_NOTIFIER_PASSWORD, [{ role: "readWrite"' in users
    # the API: read, and insert/update only in the access log's collections
    assert '["jobcenter-api", process.env.MONGO_API_PASSWORD, [{ role: "jobcenterApi"' in users
    assert 'roles: [{ role: "read", db: "dfdg" }]' in users
    assert 'actions: ["insert", "update", "createIndex"]' in users
    assert 'const accessLog = ["access_log"' in users
    assert mongo["environment"]["MONGO_INITDB_ROOT_USERNAME"] not in DATABASE_USERS.values()
