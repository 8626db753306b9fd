# Sourced by the WSJ0-based recipes: stage 0, WSJ0's SPHERE files to a wav tree (sph2pipe is
# built when needed; a tree that is already wav is used as it is). Writes $data_root/wav_root.txt.
# Expects: stage stop_stage cli wsj0_root sph2pipe data_root workers, and corpus_option (how to skip it).
if [[ $stage -le 1 && $stop_stage -ge 0 && -z $wsj0_root ]]; then
  echo "$0: --wsj0_root is needed to make the corpus (or $corpus_option for an existing one)" >&2
  exit 1
fi
if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "Stage 0: WSJ0 to wav in $data_root/wsj0_wav"
  mkdir -p "$data_root"
  $cli wsj0-convert --wsj0-root "$wsj0_root" --out-dir "$data_root/wsj0_wav" \
    --tools-dir "$data_root/tools" ${sph2pipe:+--sph2pipe "$sph2pipe"} ${workers:+--workers "$workers"} > "$data_root/wav_root.txt"
fi
wav_root=$(cat "$data_root/wav_root.txt" 2>/dev/null || echo "$data_root/wsj0_wav")
