"""deploy/kubernetes: every manifest is valid against the Kubernetes schemas (offline, with the
schemas bundled in the kubernetes-validate package) and keeps the invariants an operator
relies on: replicas, probes, disruption budget, autoscaler, security context, pinned images."""

from __future__ import annotations

import asyncio
import re
import tomllib
from pathlib import Path
from typing import Any

import asyncpg
import kubernetes_validate
import pytest
import yaml

from tests.conftest import REPO_ROOT, temporary_database
from waitless.api.app import create_app
from waitless.api.request_limits import MAX_BODY_BYTES
from waitless.api.stats_handlers import UPLOAD_MAX_BYTES
from waitless.cli import build_parser, main
from waitless.domain.region import parse_region
from waitless.events.migrations import MIGRATIONS
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings, settings_from_env

K8S = REPO_ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes release still in common support, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CUSTOM_KINDS = {"PrometheusRule"}  # CRDs: no upstream schema; checked below instead


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in manifest_files()
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def deployed() -> dict[tuple[str, str], dict[str, Any]]:
    """The objects `kubectl apply -k` creates, by (kind, name)."""
    objects = {}
    for name in kustomization()["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def workloads() -> list[dict[str, Any]]:
    return [o for (kind, _), o in deployed().items() if kind in ("Deployment", "Job", "CronJob")]


def env_names(container: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container.get("env", [])}


def literal_env() -> dict[str, str]:
    generator = next(g for g in kustomization()["configMapGenerator"]
                     if g["name"] == "waitless-env")
    return dict(item.split("=", 1) for item in generator["literals"])


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version: str) -> None:
    checked = 0
    for path, doc in documents():
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.relative_to(REPO_ROOT)} ({doc['kind']}): {exc.message} "
                        f"at {'.'.join(map(str, exc.path))}")
        checked += 1
    assert checked >= 14


def test_the_kustomization_lists_every_manifest_and_its_files_exist() -> None:
    k = kustomization()
    listed = set(k["resources"])
    top_level = {p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert listed == top_level
    for generator in k["configMapGenerator"]:
        for name in generator.get("files", []):
            assert (K8S / name).is_file(), name
    assert not any(p.name.startswith("secret") for p in K8S.glob("*.yaml")), \
        "secrets are created out of band, never committed to the kustomization"


def test_images_are_pinned_to_the_release_never_latest() -> None:
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    (image,) = kustomization()["images"]
    assert image["newTag"] == version
    images = [c["image"] for o in workloads() for c in pod_spec(o)["containers"]]
    assert len(images) == 5
    for ref in images:
        name, _, tag = ref.rpartition(":")
        assert name == image["name"] and tag == version, ref


def test_the_api_is_replicated_probed_budgeted_autoscaled_and_spread() -> None:
    objects = deployed()
    api = objects[("Deployment", "waitless-api")]
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert api["spec"]["selector"]["matchLabels"] == labels
    # The autoscaler owns the count: a fixed one would be re-applied over a scaled-out API.
    assert "replicas" not in api["spec"]
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = pod_spec(api)["containers"]
    assert container["args"][:2] == ["waitless", "serve"]
    build_parser().parse_args(container["args"][1:])
    port = container["ports"][0]
    assert container["args"][container["args"].index("--port") + 1] == str(port["containerPort"])
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    pdb = objects[("PodDisruptionBudget", "waitless-api")]
    assert pdb["spec"]["selector"]["matchLabels"] == labels
    hpa = objects[("HorizontalPodAutoscaler", "waitless-api")]
    assert 1 <= pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "waitless-api"}
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > 2
    spread = {c["topologyKey"]: c for c in pod_spec(api)["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["kubernetes.io/hostname"]["labelSelector"]["matchLabels"] == labels
    service = objects[("Service", "waitless-api")]
    assert service["spec"]["selector"] == labels
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_every_pod_is_non_root_read_only_and_bounded() -> None:
    for obj in workloads():
        spec = pod_spec(obj)
        where = obj["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] != 0, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec["automountServiceAccountToken"] is False, where
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) == {"cpu", "memory"}, where
            for mount in container.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                if not mount.get("readOnly"):
                    # Writable places are scratch or data volumes, never the image.
                    assert "emptyDir" in volume or "persistentVolumeClaim" in volume, mount
                if "configMap" in volume:
                    assert mount.get("readOnly") is True, mount


def test_the_api_spool_is_writable_and_the_graph_tables_read_only() -> None:
    objects = deployed()
    env = literal_env()
    api_spec = pod_spec(objects[("Deployment", "waitless-api")])
    mounts = {m["mountPath"]: m for m in api_spec["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in api_spec["volumes"]}
    spool = mounts[env["WAITLESS_SPOOL_DIR"]]
    assert not spool.get("readOnly") and "emptyDir" in volumes[spool["name"]]
    graph = mounts[env["WAITLESS_GRAPH_CACHE"]]
    assert graph["readOnly"] is True
    claim = volumes[graph["name"]]["persistentVolumeClaim"]
    assert claim["readOnly"] is True
    build = objects[("CronJob", "waitless-graph-build")]
    (builder,) = pod_spec(build)["containers"]
    cache_dir = builder["args"][builder["args"].index("--cache-dir") + 1]
    build_mounts = {m["mountPath"]: m for m in builder["volumeMounts"]}
    build_volumes = {v["name"]: v for v in pod_spec(build)["volumes"]}
    assert not build_mounts[cache_dir].get("readOnly")
    assert (build_volumes[build_mounts[cache_dir]["name"]]["persistentVolumeClaim"]["claimName"]
            == claim["claimName"])
    pvc = objects[("PersistentVolumeClaim", claim["claimName"])]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # API pods on several nodes
    build_parser().parse_args(builder["args"][1:])


def test_the_ingestor_runs_two_replicas_that_elect_a_leader() -> None:
    objects = deployed()
    ingest = objects[("Deployment", "waitless-ingest")]
    assert ingest["spec"]["replicas"] == 2
    (container,) = pod_spec(ingest)["containers"]
    env = literal_env()
    # Each ingestor names its region: the primary here, one Deployment per further region.
    args = build_parser().parse_args(container["args"][1:])
    assert (args.command, args.region) == ("ingest",
                                           settings_from_env(env).region)
    port = container["ports"][0]
    assert env["WAITLESS_INGEST_METRICS_PORT"] == str(port["containerPort"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert float(env["WAITLESS_LEADER_LEASE_SECONDS"]) > 0
    assert "WAITLESS_REDIS_URL" in env_names(container)
    pdb = objects[("PodDisruptionBudget", "waitless-ingest")]
    assert pdb["spec"]["selector"]["matchLabels"] == ingest["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] == 1


def test_regions_come_from_a_config_map_and_secrets_from_secrets() -> None:
    env = literal_env()
    regions = next(g for g in kustomization()["configMapGenerator"]
                   if g["name"] == "waitless-regions")
    names = {Path(f).name for f in regions["files"]}
    # WAITLESS_REGIONS lists every region the API serves: each a file of the ConfigMap.
    served = [Path(p) for p in settings_from_env(env).regions]
    assert {p.name for p in served} <= names
    for obj in workloads():
        for container in pod_spec(obj)["containers"]:
            for mount in container.get("volumeMounts", []):
                if mount["name"] == "regions":
                    assert {Path(mount["mountPath"])} == {p.parent for p in served}
    # The shipped region is the bundled one (operators replace both with their own).
    for name in names:
        assert (K8S / "regions" / name).read_bytes() == (
            REPO_ROOT / "waitless" / "regions" / name).read_bytes(), name
    for path in served:
        parse_region(tomllib.loads((K8S / "regions" / path.name).read_text()))
    secret_keys = set(yaml.safe_load((K8S / "examples" / "secret.yaml").read_text())
                      ["stringData"])
    secret_vars = {"WAITLESS_REDIS_URL", "WAITLESS_DATABASE_URL", "WAITLESS_COMMISSIONER_TOKEN",
                   "WAITLESS_PUSH_TOKENS"}
    assert not secret_vars & set(env), "secrets must not sit in a ConfigMap"
    for obj in workloads():
        for container in pod_spec(obj)["containers"]:
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if var["name"] in secret_vars:
                    assert ref is not None, (obj["metadata"]["name"], var["name"])
                if ref:
                    assert ref["name"] == "waitless-secrets" and ref["key"] in secret_keys


INTERNAL_PATHS = ("/metrics", "/healthz", "/readyz")


def ingress_paths() -> list[dict[str, Any]]:
    ingress = deployed()[("Ingress", "waitless")]
    return [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]


def routed(path: str, rule: dict[str, Any]) -> bool:
    """Whether an Ingress path rule sends ``path`` to the service."""
    if rule["pathType"] == "Exact":
        return path == rule["path"]
    return path == rule["path"] or path.startswith(rule["path"].rstrip("/") + "/")


def test_the_ingress_keeps_internals_and_query_strings_out() -> None:
    ingress = deployed()[("Ingress", "waitless")]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/enable-access-log"] == "false"
    paths = ingress_paths()
    assert {"path": "/v1", "pathType": "Prefix"}.items() <= paths[1].items()
    for internal in INTERNAL_PATHS:
        for p in paths:
            assert not routed(internal, p), (internal, p)


def test_the_ingress_routes_every_public_route_of_the_app(kent, tmp_path: Path) -> None:
    """The Ingress is an allow-list: a page or endpoint it leaves out answers 404 in a
    cluster (the footer's /privacy, /how-it-works and /accessibility, the service worker)."""
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=kent,
                     live_store=MemoryLiveStore())
    public = {route.resource.canonical for route in app.router.routes()
              if route.resource is not None} - set(INTERNAL_PATHS)
    assert {"/", "/privacy", "/sw.js", "/v1/rank"} <= public
    paths = ingress_paths()
    assert sorted(r for r in public if not any(routed(r, p) for p in paths)) == []


def nginx_bytes(size: str) -> int:
    """An nginx size ("4m", "512k", "1048576") in bytes."""
    units = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    unit = units.get(size[-1].lower(), 1)
    return int(size[:-1] if unit > 1 else size) * unit


def test_the_proxies_take_every_body_the_app_takes_and_little_more() -> None:
    """The app's largest bodies: an NHS England upload (4 MiB, refused above by its
    Content-Length) and a push feed's max_body_bytes. A proxy limit below them cuts off
    requests the app documents; far above, it passes bodies the app only reads to refuse."""
    region = parse_region(tomllib.loads((K8S / "regions" / "kent-medway.toml").read_text()))
    app_limit = max(UPLOAD_MAX_BYTES, MAX_BODY_BYTES, region.validation.max_body_bytes)
    assert app_limit == 4 * 1024 ** 2
    annotations = deployed()[("Ingress", "waitless")]["metadata"]["annotations"]
    assert nginx_bytes(annotations["nginx.ingress.kubernetes.io/proxy-body-size"]) == app_limit
    # The plain nginx example in the runbook says the same.
    runbook = (REPO_ROOT / "docs" / "operations.md").read_text()
    sizes = re.findall(r"client_max_body_size (\w+);", runbook)
    assert sizes and {nginx_bytes(size) for size in sizes} == {app_limit}, sizes


def test_network_policy_denies_by_default_and_admits_each_component() -> None:
    objects = deployed()
    deny = objects[("NetworkPolicy", "default-deny")]
    assert deny["spec"]["podSelector"] == {} and set(deny["spec"]["policyTypes"]) == {
        "Ingress", "Egress"}
    api_policy = objects[("NetworkPolicy", "waitless-api")]
    assert api_policy["spec"]["podSelector"]["matchLabels"] == deployed()[
        ("Deployment", "waitless-api")]["spec"]["selector"]["matchLabels"]
    ports = {p["port"] for rule in api_policy["spec"]["ingress"] for p in rule["ports"]}
    assert ports == {8080}


def test_the_prometheus_rule_is_deploy_alerts_yml() -> None:
    import importlib.util
    spec = importlib.util.spec_from_file_location("prometheusrule",
                                                  REPO_ROOT / "scripts" / "prometheusrule.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (K8S / "prometheusrule.yaml").read_text() == module.render(), \
        "run python scripts/prometheusrule.py"
    rule = deployed()[("PrometheusRule", "waitless")]
    alerts = yaml.safe_load((REPO_ROOT / "deploy" / "alerts.yml").read_text())
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"] == alerts["groups"]
    names = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"WaitLessFeedDown", "WaitLessNoIngestLeader"} <= names


def test_applying_again_never_meets_an_immutable_job() -> None:
    """A Job's pod template is immutable: while one exists, `kubectl apply -k` with a new image
    (every release) or, for a template naming the regions ConfigMap, a changed region file fails
    with "field is immutable". Jobs that apply creates must be gone soon after they finish;
    the two-hour graph build is a suspended CronJob (mutable, started by hand)."""
    objects = deployed()
    jobs = [o for (kind, _), o in objects.items() if kind == "Job"]
    assert [j["metadata"]["name"] for j in jobs] == ["waitless-migrate"]
    for job in jobs:
        # Deleted within 10 minutes of finishing, yet after `kubectl wait` has seen it end.
        assert 60 <= job["spec"]["ttlSecondsAfterFinished"] <= 600, job["metadata"]["name"]
        # No ConfigMap either: a region change renames it, which would change the template.
        assert not any("configMap" in v for v in pod_spec(job).get("volumes", []))
    build = objects[("CronJob", "waitless-graph-build")]
    assert build["spec"]["suspend"] is True
    assert build["spec"]["concurrencyPolicy"] == "Forbid"
    runbook = (REPO_ROOT / "docs" / "operations.md").read_text()
    assert "create job --from=cronjob/waitless-graph-build" in runbook
    assert "field is immutable" in runbook


def test_the_migration_job_command_migrates(monkeypatch, capsys) -> None:
    job = deployed()[("Job", "waitless-migrate")]
    (container,) = pod_spec(job)["containers"]
    for dsn in temporary_database("k8smigrate"):
        monkeypatch.setenv("WAITLESS_DATABASE_URL", dsn)
        assert main(container["args"][1:]) == 0
        assert main(container["args"][1:]) == 0  # a second run finds nothing to do

        async def versions(dsn: str = dsn) -> list[int]:
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
                return [r["version"] for r in rows]
            finally:
                await conn.close()

        assert asyncio.run(versions()) == [v for v, _ in MIGRATIONS]
    latest = max(v for v, _ in MIGRATIONS)
    assert capsys.readouterr().out.count(f"schema at version {latest}") == 2

