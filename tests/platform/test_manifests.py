"""The deployment files, checked offline: every Kubernetes manifest against the API schemas
(kubernetes-validate, strict: unknown fields are errors), KEDA's kinds against KEDA's CRD schemas
(@kubernetes-models/keda through node), the compose file against the Compose Specification's JSON
schema, and what the platform needs of them (no shared volume, one beat, probes, requests, a GPU)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "platform" / "k8s"
COMPOSE = ROOT / "platform" / "compose.yaml"
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
KEDA_SCRIPT = Path(__file__).parent / "keda_validate.mjs"
KEDA_MODULES = Path(os.environ.get("CHROMA_KUBERNETES_MODELS", "/opt/kubernetes-models"))
KUBERNETES_VERSION = "1.33.0"  # the oldest minor release the manifests promise to work on
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}


def documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


def containers(doc: dict) -> list[dict]:
    return doc["spec"]["template"]["spec"]["containers"]


def k8s_errors(doc: dict) -> list[str]:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc)]
    return []


def test_every_kubernetes_manifest_is_valid():
    docs = documents()
    assert len(docs) >= 12
    checked = 0
    for name, doc in docs:
        if doc["kind"] in KEDA_KINDS:
            continue  # KEDA's own schemas: below
        assert k8s_errors(doc) == [], f"{name}: {doc['kind']}/{doc['metadata']['name']}"
        checked += 1
    assert checked >= 10


def test_the_kubernetes_validator_catches_mistakes():
    deployment = copy.deepcopy(by_kind("Deployment")["chroma-worker-gpu"])
    containers(deployment)[0]["resources"]["requestz"] = containers(deployment)[0]["resources"].pop("requests")
    assert k8s_errors(deployment)
    job = copy.deepcopy(by_kind("Job")["chroma-migrate"])
    job["spec"]["backoffLimit"] = "three"
    assert k8s_errors(job)


def keda_results(docs: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None or not (KEDA_MODULES / "node_modules" / "@kubernetes-models" / "keda").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs node and @kubernetes-models/keda under {KEDA_MODULES} (.ci/run installs them)")
        pytest.skip(f"KEDA's schemas: needs node and `npm install --prefix {KEDA_MODULES} @kubernetes-models/keda@2`")
    out = subprocess.run(
        [node, "--input-type=module", "-e", KEDA_SCRIPT.read_text()],
        cwd=KEDA_MODULES, input=json.dumps(docs), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_the_keda_resources_are_valid():
    docs = [doc for _, doc in documents() if doc["kind"] in KEDA_KINDS]
    assert {d["kind"] for d in docs} == KEDA_KINDS
    results = keda_results(docs)
    assert len(results) == len(docs)
    assert all(r["errors"] == [] for r in results), results
    broken = copy.deepcopy(by_kind("ScaledObject")["chroma-worker-gpu"])
    broken["spec"]["maxReplicaCount"] = "sixteen"
    assert keda_results([broken])[0]["errors"], "the KEDA validator catches mistakes"


def test_gpu_workers_have_a_gpu_and_scale_on_their_queue():
    gpu = by_kind("Deployment")["chroma-worker-gpu"]
    (worker,) = containers(gpu)
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert worker["command"][worker["command"].index("-Q") + 1] == "gpu"
    scaled = by_kind("ScaledObject")["chroma-worker-gpu"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "chroma-worker-gpu"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == "gpu"
    auth = by_kind("TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    secret = by_kind("Secret")["chroma-secrets"]
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["name"] == "chroma-secrets" and ref["key"] in secret["stringData"]


def test_there_is_no_shared_volume():
    for name, doc in documents():
        assert doc["kind"] != "PersistentVolumeClaim", name
        if doc["kind"] in {"Deployment", "Job"}:
            for volume in doc["spec"]["template"]["spec"].get("volumes", []):
                assert "persistentVolumeClaim" not in volume and "nfs" not in volume, (name, volume)
            for container in containers(doc):
                env = {e["name"] for e in container.get("env", [])}
                assert "CHROMA_MODEL_DIR" not in env
    assert "CHROMA_MODEL_DIR" not in by_kind("ConfigMap")["chroma-env"]["data"]
    compose = yaml.safe_load(COMPOSE.read_text())
    for service, spec in compose["services"].items():
        for volume in spec.get("volumes", []):
            assert "models" not in str(volume), service
        assert "CHROMA_MODEL_DIR" not in (spec.get("environment") or {}), service


def test_one_beat_with_the_lock():
    beat = by_kind("Deployment")["chroma-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert containers(beat)[0]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert "CHROMA_BEAT_LOCK_SECONDS" in by_kind("ConfigMap")["chroma-env"]["data"]


def test_every_pod_has_requests_probes_and_the_secrets():
    secret = by_kind("Secret")["chroma-secrets"]
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "AWS_SECRET_ACCESS_KEY"} <= set(secret["stringData"])
    workloads = [doc for _, doc in documents() if doc["kind"] in {"Deployment", "Job"}]
    assert {d["metadata"]["name"] for d in workloads} >= {
        "chroma-web", "chroma-worker-gpu", "chroma-worker-cpu", "chroma-beat", "chroma-migrate"
    }  # fmt: skip
    for doc in workloads:
        for container in containers(doc):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), doc["metadata"]["name"]
            refs = container["envFrom"]
            assert {"secretRef": {"name": "chroma-secrets"}} in refs
            assert {"configMapRef": {"name": "chroma-env"}} in refs
            if doc["kind"] == "Deployment":
                assert "livenessProbe" in container, doc["metadata"]["name"]
    (web,) = containers(by_kind("Deployment")["chroma-web"])
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "livenessProbe" in web and "readinessProbe" in web


def test_the_migration_job_migrates():
    job = by_kind("Job")["chroma-migrate"]
    (container,) = containers(job)
    # Migrations, then community models of releases that kept them on a shared volume (idempotent).
    assert container["command"] == [
        "sh", "-c", "python manage.py migrate --no-input && python manage.py models_to_storage"
    ]  # fmt: skip
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def compose_errors(document: dict) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification():
    document = yaml.safe_load(COMPOSE.read_text())
    assert compose_errors(document) == []
    assert {"web", "worker-cpu", "worker-gpu", "beat", "migrate", "postgres", "redis", "minio"} <= set(
        document["services"]
    )
    broken = copy.deepcopy(document)
    broken["services"]["web"]["restart_policy"] = "always"  # not a service key
    assert compose_errors(broken)
    broken = copy.deepcopy(document)
    broken["services"]["web"]["ports"] = "8000:8000"  # must be a list
    assert compose_errors(broken)


def test_the_grafana_dashboard_plots_series_the_platform_exports():
    """Every metric a panel queries is one that /metrics or a worker's exporter serves."""
    import re

    from colorization import metrics as worker_side
    from config import metrics as web_side

    dashboard = json.loads((ROOT / "platform" / "grafana" / "chroma-commons.json").read_text())
    from prometheus_client.metrics import MetricWrapperBase

    exported = {m.describe()[0].name for m in vars(worker_side).values() if isinstance(m, MetricWrapperBase)}
    exported |= {web_side.REQUEST_SECONDS.describe()[0].name}
    exported |= set(re.findall(r'"(chroma_[a-z_]+)"', (ROOT / "config" / "metrics.py").read_text()))
    queried = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            queried |= set(re.findall(r"\bchroma_[a-z_]+", target["expr"]))
    suffixes = ("_bucket", "_count", "_sum", "_total")
    assert queried
    for name in queried:
        base = next((name[: -len(s)] for s in suffixes if name.endswith(s) and name[: -len(s)] in exported), name)
        assert base in exported, f"the dashboard queries {name}, which nothing exports"
