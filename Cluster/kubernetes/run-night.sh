#!/bin/sh
# One night on Kubernetes: the shards' Indexed Job, then the merge once every shard is done. Run from a CronJob or
# a scheduler with kubectl access to the namespace (storage.yaml applied once beforehand).
#
# Each night's parts go to a folder of their own, /data/parts/RUN (RUN: the UTC time this script started, given to
# both Jobs as INFERLINE_RUN), so a part left by an earlier night (say with more shards) is never merged; the merge
# removes parts folders older than a week. A Job that fails ends the wait at once (not after its timeout), with
# the Job's pods' last log lines, and this script exits non-zero.
set -eu
cd "$(dirname "$0")"
run="${INFERLINE_RUN:-$(date -u +%Y%m%dT%H%M%SZ)}"

# Waits until Job $1 is complete (exit 0) or failed, or $2 seconds pass (exit 1 for either).
wait_for_job() {
  deadline=$(($(date +%s) + $2))
  while :; do
    conditions=$(kubectl get job "$1" -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    case " $conditions " in
      *" Complete "*) return 0 ;;
      *" Failed "*)
        echo "run-night.sh: job $1 failed (run $run); its pods' last lines:" >&2
        kubectl logs "job/$1" --all-containers --tail=20 >&2 || true
        return 1 ;;
    esac
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "run-night.sh: job $1 did not finish within $2 s (run $run)" >&2
      return 1
    fi
    sleep "${INFERLINE_POLL_SECONDS:-15}"
  done
}

kubectl delete job inferline-shards inferline-merge --ignore-not-found
sed "s/__INFERLINE_RUN__/$run/" report-shards.yaml | kubectl apply -f -
wait_for_job inferline-shards 21600
sed "s/__INFERLINE_RUN__/$run/" report-merge.yaml | kubectl apply -f -
wait_for_job inferline-merge 3600
echo "run-night.sh: run $run merged" >&2
