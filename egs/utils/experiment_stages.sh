# Sourced by the recipes after their data stages: 3 train, 4 evaluate, 5 report, 6 publish.
# Expects: stage stop_stage cli conf exp_dir json_split model n_src n_outputs mlp_hidden mask_act
# seed train_args command_line; optional: max_epochs n_repeats grouping devices num_nodes strategy eval_workers,
# max_time precision, train_speakers (a folder of speaker folders, mixed on the fly: replaces --train_dir),
# and train_dir valid_dir test_dir (default: $json_split/{tr,cv,tt}); extra_tests: "NAME=JSON_DIR ..." more test
# sets, each evaluated into $exp_dir/eval_NAME and shown in the report and model card (e.g. the cross-corpus xt).
if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  echo "Stage 3: training $model in $exp_dir (logs: $exp_dir/logs, TensorBoard: $exp_dir/tb)"
  mkdir -p "$exp_dir" && echo "$command_line" > "$exp_dir/command.txt"
  if [[ -n ${train_speakers:-} ]]; then train_data=(--train_speakers "$train_speakers"); else train_data=(--train_dir "${train_dir:-$json_split/tr}"); fi
  # shellcheck disable=SC2086  # train_args is a list of options
  $cli train --conf "$conf" --exp-dir "$exp_dir" --model "$model" --n_src "$n_src" \
    --n_outputs "$n_outputs" --mlp_hidden "$mlp_hidden" --mask_act "$mask_act" --seed "$seed" \
    ${max_epochs:+--max_epochs "$max_epochs"} ${n_repeats:+--n_repeats "$n_repeats"} ${grouping:+--grouping "$grouping"} \
    ${devices:+--devices "$devices"} ${num_nodes:+--num_nodes "$num_nodes"} ${strategy:+--strategy "$strategy"} \
    ${max_time:+--max_time "$max_time"} ${precision:+--precision "$precision"} \
    "${train_data[@]}" --valid_dir "${valid_dir:-$json_split/cv}" --test_dir "${test_dir:-$json_split/tt}" \
    $train_args
fi

if [[ $stage -le 4 && $stop_stage -ge 4 ]]; then
  echo "Stage 4: evaluation in $exp_dir/eval"
  $cli evaluate --exp-dir "$exp_dir" ${eval_workers:+--workers "$eval_workers"}
  for extra in ${extra_tests:-}; do
    echo "Stage 4: evaluation on ${extra%%=*} in $exp_dir/eval_${extra%%=*}"
    $cli evaluate --exp-dir "$exp_dir" --name "${extra%%=*}" --test-dir "${extra#*=}" ${eval_workers:+--workers "$eval_workers"}
  done
fi

if [[ $stage -le 5 && $stop_stage -ge 5 ]]; then
  echo "Stage 5: report"
  $cli report --exp-dir "$exp_dir"
  exp_abs=$(cd "$exp_dir" && pwd)
  echo "Listen: $exp_abs/eval/examples/   Look: $exp_abs/spectrograms.png"
fi

if [[ $stage -le 6 && $stop_stage -ge 6 ]]; then
  echo "Stage 6: publish to $exp_dir/publish"
  $cli publish --exp-dir "$exp_dir" --name "$(basename "$exp_dir")" --out-dir "$exp_dir/publish" > /dev/null
  echo "Model file and card: $exp_dir/publish/"
fi
