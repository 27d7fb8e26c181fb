#!/usr/bin/env bash
# The library as another program uses it: `cmake --install` into a fresh prefix, then examples/classify.c and a
# program including doodle/doodle.h (every public header) built against the installed copy alone, with
# pkg-config as docs/embedding.md says; the example run on the bundled sample must agree with `doodle predict`.
# The model is an untrained one made by `test_eval --fixture DIR` (tests/test_eval.c), built next to doodle.
name=install
source "$(dirname "$0")/common.bash"
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$doodle")" && pwd)
sample=${DOODLE_SAMPLE_DIR:-$src/data/sample}
cmake=${DOODLE_CMAKE:-cmake}
cc=${DOODLE_CC:-cc}
command -v pkg-config >/dev/null || { echo "skipped: no pkg-config"; exit 77; }

prefix=$tmp/prefix
expect_status 0 "cmake --install" "$cmake" --install "$build" --prefix "$prefix"
pc=$(find "$prefix" -name doodle.pc | head -1)
[ -n "$pc" ] || { fail "no doodle.pc under $prefix"; finish; }
for f in bin/doodle include/doodle/doodle.h include/doodle/classify.h; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
[ -n "$(find "$prefix" -name libdoodle.a)" ] || fail "libdoodle.a not installed"
# the installed headers are the public ones alone: none includes a private src/ header
grep -h '#include "' "$prefix"/include/doodle/*.h | grep -v '#include "doodle/' && fail "an installed header includes a private one"

export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs doodle) || { fail "pkg-config --cflags --libs doodle: $(pkg-config --cflags --libs doodle 2>&1)"; finish; }
case " $flags " in *" -I$prefix/"*) ;; *) fail "pkg-config gives no include folder under the prefix: $flags" ;; esac
# shellcheck disable=SC2086 # flags are words
expect_status 0 "examples/classify.c against the installed library" \
  "$cc" -std=c17 -Wall -Wextra -Werror "$src/examples/classify.c" -o "$tmp/classify" $flags
cat >"$tmp/all.c" <<'C'
#include "doodle/doodle.h"
#include <stdio.h>
int main(void) {
    dd_rng r;
    dd_rng_seed(&r, 1);
    char word[DD_WORD_MAX];
    dd_error err;
    if (dd_class_from_path("data/smiley_face.npy.gz", word, &err)) return 1;
    printf("%s %d\n", word, dd_cpu_count(1));
    return 0;
}
C
# shellcheck disable=SC2086
expect_status 0 "a program including doodle/doodle.h" \
  "$cc" -std=c17 -Wall -Wextra -Wpedantic -Werror "$tmp/all.c" -o "$tmp/all" $flags
expect_status 0 "the doodle.h program runs" "$tmp/all"
[ "$(cat "$tmp/out")" = "smiley face 1" ] || fail "the doodle.h program printed: $(cat "$tmp/out")"

fx=$tmp/fx
mkdir -p "$fx"
DOODLE_SAMPLE_DIR=$sample "$build/tests/test_eval" --fixture "$fx" >"$tmp/fx.log" 2>&1 ||
  { fail "cannot make the model with test_eval --fixture: $(cat "$tmp/fx.log")"; finish; }
drawings=$sample/strokes/raw/cat.ndjson.gz
expect_status 0 "the installed example on the sample" "$tmp/classify" "$fx/model.safetensors" "$drawings"
awk '{ print $4, $6, $8 }' "$tmp/out" >"$tmp/example.top"
[ "$(wc -l <"$tmp/example.top")" -eq "$(gzip -dc "$drawings" | grep -c .)" ] || fail "the example did not classify every drawing"
"$prefix/bin/doodle" predict -m "$fx/model.safetensors" "$drawings" | grep -v '^accuracy ' |
  awk '{ print $3, $5, $7 }' >"$tmp/predict.top"
cmp -s "$tmp/example.top" "$tmp/predict.top" || fail "the installed example and doodle predict disagree: $(diff "$tmp/example.top" "$tmp/predict.top" | head -5)"
finish
