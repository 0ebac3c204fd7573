#!/bin/sh
# The installed library: make install into a scratch PREFIX puts the binary,
# both libraries, the headers and salient.pc there; every installed header
# compiles on its own; examples/gradcam.c builds against the installed copy
# alone (pkg-config, static and shared) and gives salient explain's Grad-CAM
# (class, probability, peak, the map itself); a second install (DESTDIR)
# compiles nothing; make uninstall removes it all.
. tests/lib_cli.sh
if [ -n "$SALIENT_ASAN" ]; then echo "SKIP install: not under the sanitizer build"; exit 0; fi
P=$T/prefix
V=$(cat VERSION 2>/dev/null || echo 0.2.0)
MODEL=weights/brain_resnet18.safetensors
IMG=tests/data/samples/brain/glioma/Te-gl_0017.png

# builds that ran here: compiles (-c -o), links of the program or the shared library
builds() { grep -c -E -- ' -c -o | -o salient | -shared ' "$1"; }

if make install BUILD="$B" PREFIX="$P" >"$T/install.log" 2>&1; then
  pass "make install PREFIX=... ($(builds "$T/install.log") compile/link steps)"
else fail "make install" "$(tail -5 "$T/install.log")"; exit 0; fi

missing=""
for f in bin/salient lib/libsalient.a lib/libsalient.so.$V lib/pkgconfig/salient.pc include/salient/salient.h; do
  [ -f "$P/$f" ] || missing="$missing $f"
done
for h in $(ls engine/*.h weights/*.h io/*.h attrib/*.h eval/*.h | grep -v '_internal\.h$'); do
  [ -f "$P/include/salient/$h" ] || missing="$missing include/salient/$h"
done
[ -z "$missing" ] && pass "installed: binary, libsalient.a, libsalient.so.$V, salient.pc, every library header" \
  || fail "installed files" "missing:$missing"

if [ "$(readlink "$P/lib/libsalient.so")" = libsalient.so.${V%%.*} ] &&
   [ "$(readlink "$P/lib/libsalient.so.${V%%.*}")" = libsalient.so.$V ] &&
   objdump -p "$P/lib/libsalient.so.$V" | grep -q "SONAME *libsalient.so.${V%%.*}\$"; then
  pass "libsalient.so -> libsalient.so.${V%%.*} (the soname) -> libsalient.so.$V"
else fail "shared library names" "$(ls -l "$P/lib" | tr '\n' ' ')"; fi

"$P/bin/salient" --version >"$T/ver" 2>&1 && grep -q "$V" "$T/ver" \
  && pass "installed salient --version says $V" || fail "installed salient" "$(cat "$T/ver")"

export PKG_CONFIG_PATH="$P/lib/pkgconfig"
pv=$(pkg-config --modversion salient 2>&1)
[ "$pv" = "$V" ] && pkg-config --cflags salient | grep -q -- "-I$P/include/salient" \
  && pass "pkg-config: salient $pv, Cflags -I\$PREFIX/include/salient" || fail "pkg-config" "$pv"

bad=""
for h in $(cd "$P/include/salient" && find . -name '*.h' | sed 's|^\./||' | sort); do
  printf '#include "%s"\n' "$h" | cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$P/include/salient" -x c - \
    >"$T/hdr" 2>&1 || bad="$bad $h: $(head -1 "$T/hdr")"
done
[ -z "$bad" ] && pass "every installed header compiles on its own with -I\$PREFIX/include/salient" \
  || fail "installed headers" "$bad"

# the example, outside the source tree: only the installed headers and libraries are seen
cp examples/gradcam.c "$T/gradcam.c"
if (cd "$T" && cc -std=c11 -Wall -Wextra -Werror gradcam.c -o gradcam_shared $(pkg-config --cflags --libs salient) \
      -Wl,-rpath,"$P/lib") >"$T/cc1" 2>&1 &&
   objdump -p "$T/gradcam_shared" | grep -q 'NEEDED *libsalient.so'; then
  pass "examples/gradcam.c builds against the installed libsalient.so (pkg-config --cflags --libs)"
else fail "example, shared" "$(tail -5 "$T/cc1")"; fi
if (cd "$T" && cc -std=c11 -Wall -Wextra -Werror gradcam.c -o gradcam_static $(pkg-config --cflags salient) \
      $(pkg-config --variable=static_libs salient)) >"$T/cc2" 2>&1 &&
   ! objdump -p "$T/gradcam_static" | grep -q 'NEEDED *libsalient'; then
  pass "examples/gradcam.c builds against the installed libsalient.a (pkg-config --variable=static_libs)"
else fail "example, static" "$(tail -5 "$T/cc2")"; fi

# the reference: salient explain's Grad-CAM of the same image
$S explain -m $MODEL -M gradcam --no-png -o "$T/cli" $IMG >/dev/null 2>"$T/err" || fail "salient explain" "$(tail -3 "$T/err")"
J="$T/cli/Te-gl_0017/explain.json"
cls=$(sed -n '/"prediction"/,/}/s/.*"class": \([0-9]*\).*/\1/p' "$J" | head -1)
prob=$(sed -n '/"prediction"/,/}/s/.*"prob": \([0-9.eE+-]*\).*/\1/p' "$J" | head -1)
prob=$(awk -v p="$prob" 'BEGIN { printf "%.4f", p }')
# numpy.argmax of explain's map: the float32 data after the .npy header (10 + HEADER_LEN bytes)
hl=$(od -A n -t u2 -j 8 -N 2 "$T/cli/Te-gl_0017/gradcam.npy" | tr -d ' ')
S_=$(sed -n 's/.*"size": \([0-9]*\).*/\1/p' "$J" | head -1)
peak=$(od -A n -v -t f4 -j $((10 + hl)) "$T/cli/Te-gl_0017/gradcam.npy" |
       awk -v s="$S_" '{ for (i = 1; i <= NF; i++) { if (n == 0 || $i + 0 > m) { m = $i + 0; at = n } n++ } }
                      END { printf "%d %d", int(at / s), at % s }')

for kind in shared static; do
  if [ -x "$T/gradcam_$kind" ] && "$T/gradcam_$kind" $MODEL $IMG "$T/map_$kind.npy" >"$T/out_$kind" 2>&1; then
    c=$(sed -n 's/^class \([0-9]*\) .*/\1/p' "$T/out_$kind"); p=$(sed -n 's/^prob //p' "$T/out_$kind")
    k=$(sed -n 's/^peak //p' "$T/out_$kind")
    if [ "$c" = "$cls" ] && [ "$p" = "$prob" ] && [ "$k" = "$peak" ]; then
      pass "gradcam ($kind) = salient explain: class $c, p $p, peak (row col) $k"
    else fail "gradcam ($kind) vs explain" "class $c/$cls, p $p/$prob, peak $k/$peak"; fi
    if $B/tests/tool_npycmp "$T/map_$kind.npy" "$T/cli/Te-gl_0017/gradcam.npy" 1e-6 >"$T/cmp" 2>&1; then
      pass "gradcam ($kind) map = explain's gradcam.npy ($(cat "$T/cmp"))"
    else fail "gradcam ($kind) map" "$(cat "$T/cmp")"; fi
  else fail "gradcam ($kind) runs" "$(tail -3 "$T/out_$kind" 2>/dev/null)"; fi
done

# a second install, staged: nothing is rebuilt, and salient.pc names PREFIX, not DESTDIR
make install BUILD="$B" PREFIX=/opt/salient DESTDIR="$T/stage" >"$T/install2.log" 2>&1 || fail "make install DESTDIR" "$(tail -3 "$T/install2.log")"
n=$(builds "$T/install2.log")
[ "$n" -eq 0 ] && [ -f "$T/stage/opt/salient/lib/libsalient.a" ] && grep -q '^prefix=/opt/salient$' "$T/stage/opt/salient/lib/pkgconfig/salient.pc" \
  && pass "make install DESTDIR=... PREFIX=/opt/salient: staged, prefix=/opt/salient, nothing rebuilt" \
  || fail "make install DESTDIR" "$n compile/link steps; $(ls "$T/stage/opt/salient/lib" 2>&1 | tr '\n' ' ')"

make uninstall PREFIX="$P" >"$T/un.log" 2>&1
left=$(find "$P" ! -type d | head -5)
[ -z "$left" ] && pass "make uninstall leaves no file" || fail "make uninstall" "left: $left"
