#!/usr/bin/env bash
# The paper's WHAMR! experiments (Table 3): noisy reverberant 2-speaker mixtures, separated into
# the *reverberant* sources (Sec. 3.3; --targets anechoic for Asteroid's usual targets). Stages:
#   0 wav       WSJ0's SPHERE files to wav (as egs/wsj0-2mix)
#   1 whamr     WHAMR! with its official scripts, unchanged, and the WHAM! noise (downloaded, or local
#               paths); the scripts run in a virtual environment of their own (data/downloads/whamr-env,
#               made here: numpy 1.23.5 and their pinned pyroomacoustics 0.3.1; see README.md)
#   2 metadata  json files for WhamrDataset
#   3-6         train, evaluate, report, publish (as egs/wsj0-2mix)
# With an existing WHAMR! copy, skip 0-1: --whamr_dir /path/to/whamr --stage 2.
# Run it from the recipe folder (cd egs/whamr): data/ and exp/ are made where you run it.
set -euo pipefail
command_line=$(printf '%q ' "$0" "$@")
here=$(cd "$(dirname "$0")" && pwd)

stage=0
stop_stage=6
tag=""
python=python
wsj0_root=""           # WSJ0: the discs (11-1.1/wsj0/..., under any folder) or a converted wav tree
sph2pipe=""            # a sph2pipe binary or its source archive (default: on PATH, else downloaded and compiled)
whamr_dir=""           # an existing WHAMR! root (wav8k/min/...); default: made here
whamr_scripts=""       # WHAMR! scripts: folder, .tar.gz or URL (default: the official URL)
wham_noise=""          # WHAM! noise: folder, zip or URL (default: the official URL, 17 GB)
whamr_python=""        # a Python that runs the scripts (pyroomacoustics 0.3.1); default: the environment made in stage 1
targets=reverberant    # reverberant (the paper) | anechoic
data_root=data
exp_root=exp
conf=$here/local/conf.yml
n_src=2
seed=0
workers=""
model=deepmask         # baseline | overseparation | deepmask (DPRNN), or convtasnet_<head> | dptnet_<head>
n_outputs=16
mlp_hidden=64
mask_act=relu
n_repeats=""
grouping=""            # overseparation: fixed (conf default) or dynamic (searched per example)
max_epochs=""
devices=""
num_nodes=""
strategy=""
train_args=""
eval_workers=""          # evaluation processes (CPU); default 1

. "$here/../utils/parse_options.sh"

tag=${tag:-${model}_whamr}
exp_dir=$exp_root/$tag
cli="$python -m asteroid_deepmask.cli"
corpus_dir=${whamr_dir:-$data_root/whamr}
json_split=$data_root/json/whamr
train_args="--targets $targets $train_args"

corpus_option=--whamr_dir
if [[ -z $whamr_dir ]]; then . "$here/../utils/wsj0_wav_stage.sh"; fi

if [[ -z $whamr_dir && $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "Stage 1: WHAMR! from $wav_root in $corpus_dir"
  $cli whamr-create --wav-root "$wav_root" --out-dir "$corpus_dir" --work-dir "$data_root/downloads" \
    ${whamr_scripts:+--scripts "$whamr_scripts"} ${wham_noise:+--noise "$wham_noise"} \
    ${whamr_python:+--script-python "$whamr_python"}
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: metadata in $json_split"
  $cli whamr-metadata --whamr-dir "$corpus_dir" --json-dir "$json_split"
fi

. "$here/../utils/experiment_stages.sh"
