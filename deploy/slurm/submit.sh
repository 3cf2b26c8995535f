#!/usr/bin/env bash
# Submits one distributed run as three chained jobs, from a clone on the shared
# filesystem where `bash setup.sh` has made .venv:
#   BENCHMARK_STORAGE=... deploy/slurm/submit.sh [RUN_ID] [WORKERS]
# BENCHMARK_STORAGE comes from the environment (e.g. sourced from a file of
# mode 600), never the command line; sbatch passes it on to the jobs.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BENCHMARK_STORAGE:?set BENCHMARK_STORAGE to the database URL (postgresql://...)}"
export RUN_ID=${1:-cnn-zoo-$(date +%Y%m%d-%H%M%S)}
workers=${2:-4}
mkdir -p reports/slurm  # the jobs' --output folder must exist

# --parsable prints "jobid" or "jobid;cluster": keep the id.
create=$(sbatch --parsable deploy/slurm/create.sbatch); create=${create%%;*}
# Workers start once the run exists; if creating it fails they never start.
workers_job=$(sbatch --parsable --array="0-$((workers - 1))" \
  --dependency="afterok:$create" --kill-on-invalid-dep=yes deploy/slurm/worker.sbatch)
workers_job=${workers_job%%;*}
# afterany: the report follows the workers even if some failed or timed out.
report=$(sbatch --parsable --dependency="afterany:$workers_job" deploy/slurm/report.sbatch)
report=${report%%;*}

echo "run $RUN_ID: jobs $create (create), $workers_job (workers), $report (report)"
echo "watch: .venv/bin/python -m benchmark status $RUN_ID"
