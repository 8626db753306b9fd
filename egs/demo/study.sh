#!/usr/bin/env bash
# The paper's four claims re-tested at small scale on the demo's synthetic corpus (docs/study.md).
# Every run is this recipe's training and evaluation (run.sh stages 3-4) with the same step budget;
# the logic is asteroid_deepmask.paper.study. Stages (--stage N --stop_stage M):
#   1 data     2- and 3-speaker corpora and metadata (run.sh stages 0-2; kept if already made)
#   2 runs     every study row x seed not done yet (resumes a killed run from its last checkpoint)
#   3 report   $report_dir/study.md (table, evidence per claim) and its plots, from the run folders
# Cost on 2 CPU cores: 3-6 min per run at the default budget (600 steps), 42 runs (14 rows x 3 seeds);
# on one GPU about 1 min per run, several runs sharing it.
# The longer-budget check of docs/study.md (4x the steps, three rows):
#   bash study.sh --stage 2 --exp_root exp/study_long --report_dir ../../docs/study_long \
#     --rows "baseline p16_relu mlp_l" --epochs 4 --steps_per_epoch 600
set -euo pipefail
cd "$(dirname "$0")"

stage=1
stop_stage=3
python=python
corpus_dir=corpus
json_dir=data
exp_root=exp/study
report_dir=../../docs/study
seeds="0 1 2"
rows=""               # default: all; e.g. "baseline mlp_l p16_relu"
epochs=3
steps_per_epoch=200
segment=1.0

. ../utils/parse_options.sh
cli="$python -m asteroid_deepmask.cli"

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  for n_src in 2 3; do
    ./run.sh --stage 0 --stop_stage 2 --python "$python" --n_src $n_src --corpus_dir "$corpus_dir" --json_dir "$json_dir"
  done
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Study runs in $exp_root"
  # shellcheck disable=SC2086  # seeds and rows are lists
  $cli study --exp-root "$exp_root" --json-dir "$json_dir" --seeds $seeds ${rows:+--rows $rows} \
    --epochs "$epochs" --steps-per-epoch "$steps_per_epoch" --segment "$segment"
fi

if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  # shellcheck disable=SC2086
  $cli study-report --exp-root "$exp_root" --out-dir "$report_dir" ${rows:+--rows $rows}
fi
