#!/usr/bin/env bash
# Real voices: a separator trained on recorded human speech, mixed on the fly from speaker folders
# (augmented), validated and tested on fixed mixtures of speakers it never hears in training.
# Stages (--stage N --stop_stage M):
#   0 tools     espeak-ng, flite and libjemalloc2 (apt-get when run as root; else says what is missing)
#   1 corpus    recorded speech from NOTES 5a's allow-listed Debian packages -> speakers/{tr,cv,tt,xt}/<speaker>/
#               (xt: packages held out of training and validation whole, a cross-corpus test; skipped with
#               --speakers_dir: your own folder of tr/ cv/ tt/ [xt/] speaker folders)
#   2 metadata  fixed cv, tt and xt mixtures (wsj0-mix layout) and the json files Asteroid reads
#   3 train     mixtures made on the fly from tr/, augmented (local/conf.yml's augment section);
#               a wall-clock budget (--max_time); resumes from exp/TAG/checkpoints/last.ckpt if killed
#   4 evaluate  SI-SDRi / SDRi per utterance on tt (and xt), means, example wavs
#   5 report    markdown table, per-package table, spectrograms, learning curve
#   6 publish   model file and model card with the corpus's licences (run it with --stop_stage 6)
# Any variable below can be overridden as --name value; --model picks the head, and any key of
# local/conf.yml can be passed through as --train_args "--key value ...".
# Output paths are relative to egs/voices (the script runs there); the inputs --speakers_dir and
# --debs_dir are relative to where you run the script.
set -euo pipefail
command_line=$(printf '%q ' "$0" "$@")
caller_dir=$PWD
cd "$(dirname "$0")"

stage=0
stop_stage=5           # 6 also publishes
tag=""                 # experiment name; default: derived from the model (and --speakers_dir's name)
python=python          # the Python with asteroid-deepmask installed
corpus_dir=corpus      # stage 1 builds the recorded-speech corpus here
speakers_dir=""        # ROOT with tr/ cv/ tt/ of speaker folders; default: $corpus_dir/speakers (given: stage 1 skipped)
debs_dir=""            # stage 1: a folder of the allow-list's .deb files (default: apt-get download)
mix_dir=""             # the fixed cv/tt mixtures; default: $corpus_dir/mixtures
json_dir=data          # their json metadata
exp_root=exp           # experiments go to $exp_root/$tag
n_src=2
n_valid=150            # validation mixtures (cv speakers; also model selection)
n_test=200             # test mixtures (tt speakers; as many of xt's)
seed=0
model=deepmask         # baseline | overseparation | deepmask (DPRNN), or convtasnet_<head> | dptnet_<head>
n_outputs=16           # overseparation's P
mlp_hidden=64          # deepmask: 16 = MLP (S), 64 = MLP (L)
mask_act=relu
n_repeats=""           # DPRNN blocks (default: local/conf.yml's 2)
grouping=""            # overseparation: fixed (default) or dynamic (searched per example)
max_epochs=""          # default: local/conf.yml's (200; the wall-clock budget usually ends the run first)
max_time=1500          # training budget in seconds (or "DD:HH:MM:SS"); "" for none (early stopping ends it)
precision=auto         # auto: bf16-mixed on a bf16 GPU or on a CPU that runs bf16 LSTMs, else 32-true
devices=""             # Lightning: GPUs (or CPU processes) per node, e.g. 4
num_nodes=""           # Lightning: nodes
strategy=""            # Lightning: e.g. ddp
eval_workers=""        # evaluation processes (CPU); default 1
train_args=""          # more overrides of local/conf.yml, e.g. "--examples_per_epoch 4000 --reverb_prob 0"

. ../utils/parse_options.sh

own_speakers=${speakers_dir:+yes}
if [[ -n $speakers_dir && $speakers_dir != /* ]]; then speakers_dir=$caller_dir/$speakers_dir; fi
if [[ -n $debs_dir && $debs_dir != /* ]]; then debs_dir=$caller_dir/$debs_dir; fi
speakers=${speakers_dir:-$corpus_dir/speakers}
mix_dir=${mix_dir:-$corpus_dir/mixtures}
tag=${tag:-${model}_${n_src}src${own_speakers:+_$(basename "$speakers")}}
exp_dir=$exp_root/$tag
cli="$python -m asteroid_deepmask.cli"

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "Stage 0: tools"
  jemalloc=$($python -c 'from asteroid_deepmask.runtime import find_allocator; f = find_allocator(); print(f[0] if f else "")')
  if [[ $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
    $cli tts-tools --install
    if [[ $jemalloc != jemalloc ]]; then
      # Waits for a dpkg lock held by another apt-get; jemalloc is optional, so a failure is reported, not fatal.
      apt="apt-get -o DPkg::Lock::Timeout=300"
      DEBIAN_FRONTEND=noninteractive $apt install -y -qq libjemalloc2 || { $apt update -qq && DEBIAN_FRONTEND=noninteractive $apt install -y -qq libjemalloc2; } \
        || echo "  note: apt-get could not install libjemalloc2 (see above): training runs on glibc malloc, tuned"
    fi
  else
    # Not needed by stages 1-6 here (the demo's TTS engines): reported, not required.
    $cli tts-tools || echo "  (espeak-ng and flite are optional for this recipe: as root, stage 0 installs them)"
    if [[ -z $jemalloc ]]; then
      echo "  note: no jemalloc or tcmalloc found: training runs on glibc malloc, tuned (asteroid_deepmask.runtime);"
      echo "        to use jemalloc, install libjemalloc2 (as root, stage 0 does: apt-get install libjemalloc2)"
    fi
  fi
  if [[ -z $own_speakers ]] && ! command -v dpkg-deb > /dev/null; then
    echo "  note: stage 1 needs dpkg-deb (package dpkg) and apt-get, or --speakers_dir with your own speakers"
  fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  if [[ -n $own_speakers ]]; then
    echo "Stage 1: skipped, your speakers: $speakers"
  else
    echo "Stage 1: recorded-speech corpus in $corpus_dir (kept if complete, resumed if half-built)"
    $cli voices --out-dir "$corpus_dir" --seed "$seed" ${debs_dir:+--debs-dir "$debs_dir"}
  fi
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: fixed cv, tt (and xt) mixtures in $mix_dir, metadata in $json_dir"
  for split in cv tt xt; do
    if [[ $split == xt && ! -d $speakers/xt ]]; then continue; fi
    if [[ $split == cv ]]; then count=$n_valid; else count=$n_test; fi
    $cli speaker-mixtures --speakers "$speakers/$split" --out-dir "$mix_dir/${n_src}speakers/$split" \
      --json-dir "$json_dir/${n_src}speakers/$split" --n-src "$n_src" --n-mixtures "$count" --seed "$seed"
  done
fi

conf=local/conf.yml
json_split=$json_dir/${n_src}speakers   # cv and tt; training reads $train_speakers instead of a tr/ json
if [[ -d $json_split/xt ]]; then extra_tests="xt=$json_split/xt"; fi
train_speakers=$speakers/tr
if [[ $stage -le 3 && $stop_stage -ge 3 && ! -d $train_speakers ]]; then
  echo "$0: no training speakers at $train_speakers (run stage 1, or give --speakers_dir ROOT with tr/ cv/ tt/)" >&2
  exit 1
fi
. ../utils/experiment_stages.sh
