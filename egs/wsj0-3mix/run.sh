#!/usr/bin/env bash
# The paper's WSJ0-3mix experiments (Table 3): the wsj0-2mix recipe with three speakers.
# Every option of ../wsj0-2mix/run.sh applies (--wsj0_root, --model, --stage, ...); run it from
# this folder (cd egs/wsj0-3mix): data/ and exp/ are made here.
exec "$(dirname "$0")/../wsj0-2mix/run.sh" --n_src 3 "$@"
