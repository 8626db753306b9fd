#!/usr/bin/env bash
# The paper's WSJ0-2mix experiments (Tables 1 and 2) with asteroid-deepmask. Stages
# (--stage N --stop_stage M):
#   0 wav       WSJ0's SPHERE files to wav (sph2pipe is built when needed; a wav tree is used as is)
#   1 mixtures  wsj0-2mix, 8 kHz, min, from MERL's standard lists (Python, no MATLAB)
#   2 metadata  the json files Asteroid's Wsj0mixDataset reads
#   3 train     Asteroid System + Lightning (DDP through --devices/--num_nodes/--strategy)
#   4 evaluate  SI-SDRi / SDRi per utterance, means
#   5 report    markdown table and spectrogram figure
#   6 publish   model file and model card
# With an existing corpus, skip 0-1: --wsj0mix_dir /path/to/wsj0-mix --stage 2.
# Any variable below can be overridden as --name value; any key of local/conf.yml through
# --train_args "--key value ...". wsj0-3mix: ../wsj0-3mix/run.sh (this script with --n_src 3).
# Run it from the recipe folder (cd egs/wsj0-2mix): data/ and exp/ are made where you run it.
set -euo pipefail
command_line=$(printf '%q ' "$0" "$@")
here=$(cd "$(dirname "$0")" && pwd)  # relative paths below are relative to where you run it

stage=0
stop_stage=6
tag=""                 # experiment name; default: derived from the model
python=python          # the Python with asteroid-deepmask installed
wsj0_root=""           # WSJ0 (LDC93S6A): the discs (11-1.1/wsj0/..., under any folder) or a converted wav tree (wsj0/si_tr_s/...)
sph2pipe=""            # a sph2pipe binary or its source archive (default: on PATH, else downloaded and compiled)
wsj0mix_dir=""         # an existing wsj0-mix root ({2,3}speakers/wav8k/min/...); default: made here
mixture_lists=""       # MERL's mix_{2,3}_spk_{tr,cv,tt}.txt: folder, zip or URL (default: download)
data_root=data         # converted WSJ0, created mixtures and json metadata go here
exp_root=exp
conf=$here/local/conf.yml
n_src=2
seed=0
workers=""             # data-preparation processes (default: all cores)
model=deepmask         # baseline | overseparation | deepmask (DPRNN), or convtasnet_<head> | dptnet_<head>
n_outputs=16           # overseparation's P
mlp_hidden=64          # deepmask: 16 = MLP (S), 64 = MLP (L)
mask_act=relu          # f: relu | linear | ...
n_repeats=""           # DPRNN blocks (conf: 6; the paper's deeper baselines: 9, 12)
grouping=""            # overseparation: fixed (conf default) or dynamic (searched per example)
max_epochs=""          # default: the conf's
devices=""             # Lightning: GPUs per node, e.g. 4
num_nodes=""           # Lightning: nodes
strategy=""            # Lightning: e.g. ddp
train_args=""
eval_workers=""          # evaluation processes (CPU); default 1

. "$here/../utils/parse_options.sh"

tag=${tag:-${model}_${n_src}src}
exp_dir=$exp_root/$tag
cli="$python -m asteroid_deepmask.cli"
corpus_dir=${wsj0mix_dir:-$data_root/wsj0-mix}
json_dir=$data_root/json
json_split=$json_dir/${n_src}speakers/wav8k/min

corpus_option=--wsj0mix_dir
if [[ -z $wsj0mix_dir ]]; then . "$here/../utils/wsj0_wav_stage.sh"; fi

if [[ -z $wsj0mix_dir && $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "Stage 1: ${n_src}-speaker mixtures from $wav_root in $corpus_dir"
  $cli wsj0mix-create --wav-root "$wav_root" --out-dir "$corpus_dir" --n-src "$n_src" \
    ${mixture_lists:+--lists "$mixture_lists"} ${workers:+--workers "$workers"}
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: metadata in $json_dir"
  $cli metadata --corpus-dir "$corpus_dir" --json-dir "$json_dir" --n-src "$n_src"
fi

. "$here/../utils/experiment_stages.sh"
