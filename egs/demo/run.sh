#!/usr/bin/env bash
# Offline demo of asteroid-deepmask: synthetic speech corpus -> training -> evaluation -> report.
# Runs on a fresh machine without licensed data. Stages (--stage N --stop_stage M):
#   0 tools     espeak-ng and flite (installed with apt-get when run as root)
#   1 corpus    wsj0-2mix style mixtures of synthetic voices, disjoint voices per split
#   2 metadata  the json files Asteroid's Wsj0mixDataset reads
#   3 train     Asteroid System + Lightning, the paper's loss and optimiser; resumes if killed
#   4 evaluate  SI-SDRi / SDRi per utterance, means, example wavs
#   5 report    markdown table and spectrogram figure
# Any variable below can be overridden as --name value; --model picks the head, and any
# key of local/conf.yml can be passed through as --train_args "--key value ...".
set -euo pipefail
command_line=$(printf '%q ' "$0" "$@")
cd "$(dirname "$0")"

stage=0
stop_stage=5
tag=""                 # experiment name; default: derived from the model
python=python          # the Python with asteroid-deepmask installed
corpus_dir=corpus      # the generated wavs
json_dir=data          # their json metadata
exp_root=exp           # experiments go to $exp_root/$tag
n_src=2
n_train=2000
n_valid=200
n_test=200
seed=0
workers=""            # corpus processes (default: all cores)
model=deepmask         # baseline | overseparation | deepmask
n_outputs=16           # overseparation's P
mlp_hidden=64          # deepmask: 16 = MLP (S), 64 = MLP (L)
mask_act=relu
max_epochs=2
train_args=""          # more overrides of local/conf.yml, e.g. "--n_repeats 4 --segment 3"

. ../utils/parse_options.sh

tag=${tag:-${model}_${n_src}src}
exp_dir=$exp_root/$tag
cli="$python -m asteroid_deepmask.cli"

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "Stage 0: TTS tools"
  if [[ $(id -u) -eq 0 ]]; then $cli tts-tools --install; else $cli tts-tools; fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "Stage 1: corpus in $corpus_dir (kept if complete, resumed if half-written)"
  $cli corpus --out-dir "$corpus_dir" --n-src "$n_src" --n-train "$n_train" --n-valid "$n_valid" \
    --n-test "$n_test" --seed "$seed" ${workers:+--workers "$workers"}
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: metadata in $json_dir"
  $cli metadata --corpus-dir "$corpus_dir" --json-dir "$json_dir" --n-src "$n_src"
fi

if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  echo "Stage 3: training $model in $exp_dir (logs: $exp_dir/logs, TensorBoard: $exp_dir/tb)"
  split=$json_dir/${n_src}speakers/wav8k/min
  mkdir -p "$exp_dir" && echo "$command_line" > "$exp_dir/command.txt"
  # shellcheck disable=SC2086  # train_args is a list of options
  $cli train --conf local/conf.yml --exp-dir "$exp_dir" --model "$model" --n_src "$n_src" \
    --n_outputs "$n_outputs" --mlp_hidden "$mlp_hidden" --mask_act "$mask_act" --seed "$seed" \
    --max_epochs "$max_epochs" --train_dir "$split/tr" --valid_dir "$split/cv" --test_dir "$split/tt" \
    $train_args
fi

if [[ $stage -le 4 && $stop_stage -ge 4 ]]; then
  echo "Stage 4: evaluation in $exp_dir/eval"
  $cli evaluate --exp-dir "$exp_dir"
fi

if [[ $stage -le 5 && $stop_stage -ge 5 ]]; then
  echo "Stage 5: report"
  $cli report --exp-dir "$exp_dir"
  exp_abs=$(cd "$exp_dir" && pwd)
  echo "Listen: $exp_abs/eval/examples/   Look: $exp_abs/spectrograms.png"
fi
