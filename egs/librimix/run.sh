#!/usr/bin/env bash
# LibriMix (Libri2Mix / Libri3Mix), the free-data standard, with asteroid-deepmask. Stages
# (--stage N --stop_stage M):
#   0 data      LibriSpeech (train-clean-100/360, dev-clean, test-clean; CC BY 4.0) and WHAM! noise
#               (CC BY-NC 4.0) downloaded, resumable and md5-checked; --librispeech_dir / --wham_dir use copies
#   1 mixtures  Libri{n}Mix from the official metadata (--librimix_metadata DIR: a clone of JorisCos/LibriMix,
#               its metadata/ or metadata/Libri{n}Mix; default: fetched): every subset, or with
#               --dynamic_mixing true only dev and test
#   2 metadata  the CSVs Asteroid's LibriMix dataset reads (written by stage 1; this stage checks them)
#   3 train     Asteroid System + Lightning (DDP through --devices/--num_nodes/--strategy); with
#               --dynamic_mixing true, mixtures drawn on the fly from LibriSpeech's training speakers
#   4 evaluate  on the official Libri{n}Mix test set (the same in both training modes)
#   5 report    markdown table and spectrogram figure
#   6 publish   model file and model card
# Any variable below can be overridden as --name value; any key of local/conf.yml through
# --train_args "--key value ...". Run it from the recipe folder (cd egs/librimix).
set -euo pipefail
command_line=$(printf '%q ' "$0" "$@")
here=$(cd "$(dirname "$0")" && pwd)

stage=0
stop_stage=6
tag=""                 # experiment name; default: derived from the model and the data
python=python          # the Python with asteroid-deepmask installed
librispeech_dir=""     # a LibriSpeech copy (holding train-clean-100/, dev-clean/, test-clean/); default: downloaded
wham_dir=""            # a WHAM! noise copy (tr/, cv/, tt/); default: downloaded (17 GB) for --task sep_noisy
librimix_metadata=""   # a LibriMix clone, its metadata/ or metadata/Libri{n}Mix (libri{n}mix_dev-clean.csv, ...); default: downloaded
data_root=data         # downloads, mixtures and metadata go here
exp_root=exp
conf=$here/local/conf.yml
n_src=2
sample_rate=8000       # 8000 or 16000 (filterbank kernel and stride scale with it: the same 2 ms / 1 ms)
mode=min               # min or max
task=sep_clean         # sep_clean or sep_noisy
train_set=train-100    # train-100 or train-360 (its LibriSpeech subset: train-clean-100 / -360)
dynamic_mixing=false   # true: train on mixtures drawn on the fly from the training set's LibriSpeech speakers
seed=0
workers=""             # data-preparation processes (default: all cores)
model=deepmask         # baseline | overseparation | deepmask (DPRNN), or convtasnet_<head> | dptnet_<head>
n_outputs=16
mlp_hidden=64
mask_act=relu
n_repeats=""
grouping=""
max_epochs=""
devices=""
num_nodes=""
strategy=""
train_args=""
eval_workers=""

. "$here/../utils/parse_options.sh"

if [[ $sample_rate != 8000 && $sample_rate != 16000 ]]; then echo "$0: --sample_rate must be 8000 or 16000" >&2; exit 1; fi
tag=${tag:-${model}_libri${n_src}mix_$((sample_rate / 1000))k$([[ $dynamic_mixing == true ]] && echo _dm || true)}
exp_dir=$exp_root/$tag
cli="$python -m asteroid_deepmask.cli"
mix_root=$data_root/Libri${n_src}Mix/wav$((sample_rate / 1000))k/$mode
declare -A libri_subset=([train-100]=train-clean-100 [train-360]=train-clean-360)
if [[ $dynamic_mixing == true ]]; then subsets="dev test"; else subsets="dev test $train_set"; fi
noise_option=()
if [[ $task == sep_noisy ]]; then noise_option=(--noise "${wham_dir:-download}"); fi

if [[ $stage -le 1 && $stop_stage -ge 0 ]]; then
  echo "Stage 0-1: LibriSpeech${librispeech_dir:+ at $librispeech_dir} -> Libri${n_src}Mix ($subsets) in $mix_root"
  # shellcheck disable=SC2086  # subsets is a list
  $cli librimix-create ${librispeech_dir:+--librispeech-dir "$librispeech_dir"} --work-dir "$data_root" \
    ${librimix_metadata:+--metadata "$librimix_metadata"} --out-dir "$data_root" --n-src "$n_src" --sample-rate "$sample_rate" \
    --mode "$mode" --subsets $subsets "${noise_option[@]}" ${workers:+--workers "$workers"}
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: metadata in $mix_root/metadata"
  for subset in $subsets; do ls "$mix_root/metadata/$subset"/mixture_"${subset}"_mix_*.csv > /dev/null; done
fi

train_dir=$mix_root/metadata/$train_set
valid_dir=$mix_root/metadata/dev
test_dir=$mix_root/metadata/test
json_split=""
# The same 2 ms window and 1 ms hop at every rate.
train_args="--task $task --sample_rate $sample_rate --kernel_size $((16 * sample_rate / 8000)) --stride $((8 * sample_rate / 8000)) $train_args"
if [[ $dynamic_mixing == true ]]; then
  train_speakers=${librispeech_dir:-$data_root/LibriSpeech}/${libri_subset[$train_set]}
  train_args="--dataset speakers $train_args"
fi

. "$here/../utils/experiment_stages.sh"
