#!/usr/bin/env bash
# Offline demo of asteroid-deepmask: synthetic speech corpus -> training -> evaluation -> report.
# Runs on a fresh machine without licensed data. Stages (--stage N --stop_stage M):
#   0 tools     espeak-ng and flite (installed with apt-get when run as root)
#   1 corpus    wsj0-2mix style mixtures of synthetic voices, disjoint voices per split
#   2 metadata  the json files Asteroid's Wsj0mixDataset reads
#   3 train     Asteroid System + Lightning, the paper's loss and optimiser; resumes if killed
#   4 evaluate  SI-SDRi / SDRi per utterance, means, example wavs
#   5 report    markdown table and spectrogram figure
#   6 publish   model file and model card (run it with --stop_stage 6)
# Any variable below can be overridden as --name value; --model picks the head, and any
# key of local/conf.yml can be passed through as --train_args "--key value ...".
set -euo pipefail
command_line=$(printf '%q ' "$0" "$@")
cd "$(dirname "$0")"

stage=0
stop_stage=5           # 6 also publishes
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
model=deepmask         # baseline | overseparation | deepmask (DPRNN), or convtasnet_<head> | dptnet_<head>
n_outputs=16           # overseparation's P
mlp_hidden=64          # deepmask: 16 = MLP (S), 64 = MLP (L)
mask_act=relu
n_repeats=""           # DPRNN blocks (default: local/conf.yml's 2)
grouping=""            # overseparation: fixed (default) or dynamic (searched per example)
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

conf=local/conf.yml
json_split=$json_dir/${n_src}speakers/wav8k/min
. ../utils/experiment_stages.sh
