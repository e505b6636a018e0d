#!/bin/sh
# One night on Kubernetes: the shards' Indexed Job, then the merge once every shard is done. Run from a CronJob or
# a scheduler with kubectl access to the namespace (storage.yaml applied once beforehand).
set -eu
cd "$(dirname "$0")"
kubectl delete job inferline-shards inferline-merge --ignore-not-found
kubectl apply -f report-shards.yaml
kubectl wait --for=condition=complete --timeout=6h job/inferline-shards
kubectl apply -f report-merge.yaml
kubectl wait --for=condition=complete --timeout=1h job/inferline-merge
