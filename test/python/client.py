"""Drives python3-kubernetes against a skiff server; prints one JSON document of what it saw.

usage: client.py KUBECONFIG NAMESPACE
"""
import json
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

kubeconfig, ns = sys.argv[1], sys.argv[2]
config.load_kube_config(config_file=kubeconfig)
core = client.CoreV1Api()
apps = client.AppsV1Api()
out = {}


def status_of(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
        return 200
    except ApiException as e:
        return e.status


core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))

# ConfigMap CRUD
cm = core.create_namespaced_config_map(ns, client.V1ConfigMap(
    metadata=client.V1ObjectMeta(name="cfg", labels={"app": "py", "tier": "fe"}), data={"a": "1"}))
out["cm_created"] = {"uid": bool(cm.metadata.uid), "rv": cm.metadata.resource_version,
                     "ts_type": type(cm.metadata.creation_timestamp).__name__}
out["cm_duplicate"] = status_of(core.create_namespaced_config_map, ns, {"metadata": {"name": "cfg"}})
cm = core.read_namespaced_config_map("cfg", ns)
cm.data["b"] = "2"
out["cm_replaced"] = core.replace_namespaced_config_map("cfg", ns, cm).data
out["cm_stale_replace"] = status_of(core.replace_namespaced_config_map, "cfg", ns, cm)
# a dict body is sent as a strategic merge patch, a list as a json patch
out["cm_smp"] = core.patch_namespaced_config_map("cfg", ns, {"data": {"a": None, "c": "3"}}).data
out["cm_jsonpatch"] = core.patch_namespaced_config_map(
    "cfg", ns, [{"op": "add", "path": "/data/d", "value": "4"}]).data
core.create_namespaced_config_map(ns, {"metadata": {"name": "other", "labels": {"app": "py", "tier": "be"}}})
names = lambda l: sorted(i.metadata.name for i in l.items)
out["list_label"] = names(core.list_namespaced_config_map(ns, label_selector="tier=fe"))
out["list_label_set"] = names(core.list_namespaced_config_map(ns, label_selector="app=py,tier in (be,xx)"))
out["list_field"] = names(core.list_namespaced_config_map(ns, field_selector="metadata.name=other"))
out["list_bad_field"] = status_of(core.list_namespaced_config_map, ns, field_selector="spec.x=1")
core.delete_namespaced_config_map("other", ns)
out["cm_after_delete"] = status_of(core.read_namespaced_config_map, "other", ns)

# Watch: events for changes made meanwhile
rv = core.list_namespaced_config_map(ns).metadata.resource_version
events = []


def writer():
    time.sleep(0.5)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "w"}, "data": {"v": "1"}})
    core.patch_namespaced_config_map("w", ns, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("w", ns)


t = threading.Thread(target=writer)
t.start()
w = watch.Watch()
started = time.time()
for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=4):
    obj = ev["object"]
    events.append([ev["type"], obj.metadata.name, (obj.data or {}).get("v")])
    if len(events) == 3:
        w.stop()
t.join()
out["watch"] = events
out["watch_seconds"] = round(time.time() - started, 1)

# Deployment: create, read (the response, status included, must deserialize)
dep = apps.create_namespaced_deployment(ns, client.V1Deployment(
    metadata=client.V1ObjectMeta(name="web", labels={"app": "web"}),
    spec=client.V1DeploymentSpec(
        replicas=2,
        selector=client.V1LabelSelector(match_labels={"app": "web"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "web"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="nginx:1.25")])))))
out["dep_created"] = {"generation": dep.metadata.generation, "strategy": dep.spec.strategy.type,
                      "max_surge": dep.spec.strategy.rolling_update.max_surge}
deadline = time.time() + 20
while time.time() < deadline:
    dep = apps.read_namespaced_deployment("web", ns)
    if (dep.status.ready_replicas or 0) == 2:
        break
    time.sleep(0.2)
out["dep_status"] = {"observed": dep.status.observed_generation, "ready": dep.status.ready_replicas,
                     "conditions": sorted([c.type, c.status] for c in (dep.status.conditions or []))}
out["dep_status_read"] = apps.read_namespaced_deployment_status("web", ns).status.replicas

# Pods: list the deployment's pods (containerStatuses must deserialize), then CRUD a bare pod
pods = core.list_namespaced_pod(ns, label_selector="app=web")
out["dep_pods"] = [{"phase": p.status.phase, "node": bool(p.spec.node_name),
                    "statuses": [[s.name, s.ready, s.restart_count, bool(s.image_id)] for s in (p.status.container_statuses or [])]}
                   for p in pods.items]
pod = core.create_namespaced_pod(ns, client.V1Pod(
    metadata=client.V1ObjectMeta(name="bare", labels={"role": "bare"}),
    spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox", command=["sleep", "3600"])])))
out["pod_created"] = {"restart_policy": pod.spec.restart_policy, "dns_policy": pod.spec.dns_policy}
pod = core.patch_namespaced_pod("bare", ns, {"metadata": {"labels": {"extra": "yes"}}})
out["pod_labels"] = pod.metadata.labels
out["pod_field"] = names(core.list_namespaced_pod(ns, field_selector="metadata.name=bare"))
core.delete_namespaced_pod("bare", ns, grace_period_seconds=0)
deadline = time.time() + 10
while time.time() < deadline and status_of(core.read_namespaced_pod, "bare", ns) == 200:
    time.sleep(0.2)
out["pod_after_delete"] = status_of(core.read_namespaced_pod, "bare", ns)
print(json.dumps(out))
