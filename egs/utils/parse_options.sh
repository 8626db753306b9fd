# Sourced by the recipes: turns `--name value` (or --name=value) into name=value for every
# variable the recipe has already defined, so defaults live at the top of run.sh.
# An unknown --name is an error, so a typo never runs silently with a default.
while [ $# -gt 0 ]; do
  case "$1" in
    --*=*) name="${1%%=*}"; value="${1#*=}"; shift ;;
    --*) name="$1"; [ $# -ge 2 ] || { echo "$0: option $name needs a value" >&2; exit 1; }; value="$2"; shift 2 ;;
    *) echo "$0: unexpected argument '$1' (options are --name value)" >&2; exit 1 ;;
  esac
  name="${name#--}"; name="${name//-/_}"
  if ! declare -p "$name" >/dev/null 2>&1; then
    echo "$0: unknown option --$name" >&2; exit 1
  fi
  printf -v "$name" '%s' "$value"
done
