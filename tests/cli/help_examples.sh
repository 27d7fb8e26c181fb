#!/usr/bin/env bash
# Every verb's --help (and every `explain` sub-verb's) ends with examples that can be trusted: each example names
# that verb, and every option it uses is one the same help text lists. Help text fits a 120-column terminal.
name=help_examples
source "$(dirname "$0")/common.bash"

# The verbs, as `doodle --help` lists them (two spaces, the name, spaces, the summary)
expect_status 0 "doodle --help" "$doodle" --help
mapfile -t verbs < <(awk '/^  [a-z]+  / { print $1 }' "$tmp/out")
[ "${#verbs[@]}" -ge 12 ] || fail "doodle --help lists only ${#verbs[@]} verbs: $(cat "$tmp/out")"
expect_status 0 "explain --help" "$doodle" explain --help
mapfile -t subs < <(awk '/^  [a-z]+  / { print $1 }' "$tmp/out")
[ "${#subs[@]}" -ge 4 ] || fail "doodle explain --help lists only ${#subs[@]} sub-verbs"
commands=("${verbs[@]}")
for s in "${subs[@]}"; do commands+=("explain $s"); done

checked=0
for cmd in "${commands[@]}"; do
  # shellcheck disable=SC2086
  expect_status 0 "$cmd --help" "$doodle" $cmd --help
  help=$tmp/out
  awk -v c="$cmd" 'length($0) > 120 { print "FAIL: " c " --help: a line of " length($0) " columns: " $0 }' "$help" |
    while read -r line; do echo "$line"; done | grep -q FAIL && fail "$cmd --help has lines past 120 columns"
  grep -q '^Examples:$' "$help" || { fail "$cmd --help has no Examples: section"; continue; }
  # the part before the examples: where the options must be listed
  sed '/^Examples:$/,$d' "$help" >"$tmp/options"
  sed -n '/^Examples:$/,$p' "$help" | tail -n +2 | grep '^  doodle ' >"$tmp/examples"
  [ -s "$tmp/examples" ] || { fail "$cmd --help: Examples: holds no 'doodle $cmd' line"; continue; }
  while read -r line; do
    case "$line" in
      "doodle $cmd "*|"doodle $cmd") ;;
      *) fail "$cmd --help: the example '$line' is not a 'doodle $cmd' command" ;;
    esac
    # options up to the description (two spaces or more end the command); --help is everyone's
    command_part=$(sed 's/  .*//' <<<"$line")
    for opt in $(grep -oE '(^| )--?[a-zA-Z][a-zA-Z0-9-]*' <<<"$command_part" | tr -d ' '); do
      [ "$opt" = --help ] && continue
      grep -qE -- "(^|[ ,])${opt}([ ,=]|$)" "$tmp/options" ||
        fail "$cmd --help: the example '$line' uses $opt, which the help does not list"
    done
    checked=$((checked + 1))
  done <"$tmp/examples"
done
[ "$checked" -ge "${#commands[@]}" ] || fail "only $checked examples checked for ${#commands[@]} commands"
echo "$checked examples of ${#commands[@]} commands checked"
finish
