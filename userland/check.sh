#!/usr/bin/env bash
# check.sh: host-side check of the demo userland (userland/*.c) under user-mode QEMU.
#
# Builds every program with the compile command in userland/README.md into a temporary
# tree laid out like the root file system (/bin/<name>, /tmp, /proc), then, in a private
# user, mount and pid namespace with its own binfmt_misc instance handing aarch64 ELF files
# to qemu-aarch64-static (so execve of our programs works), chroots into the tree and
# drives /bin/sh with scripted standard input, comparing output and exit status with the
# expected ones. Prints one PASS/FAIL line per case and a summary; exits 1 if any failed.
#
# Needs: clang, lld, musl-dev:arm64, gcc-aarch64-linux-gnu (libgcc), qemu-user-static,
# unshare with unprivileged user namespaces and a kernel (6.7+) that allows binfmt_misc
# in one. Nothing on the host changes.
#
# Not checkable under qemu-user: there is no vDSO (no AT_SYSINFO_EHDR, no [vdso]/[vvar] in
# /proc/self/maps, which qemu fills from its own view of the guest), so init's vDSO lines
# and vdsodump's dump are checked only for their "missing" messages; vdsodump's ELF walk is
# checked on target/vdso/vdso.so with --describe when that file exists. No console: stdin
# is a pipe, so interactive mode is forced with -i. ps sees qemu processes in a private pid
# namespace; its output is checked for form, not exact content.
set -u

userland=$(cd "$(dirname "$0")" && pwd)
workspace=$(dirname "$userland")
work=$(mktemp -d "${TMPDIR:-/tmp}/userland-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/dev"
touch "$root/dev/null"

chroot_tool=$(PATH=$PATH:/usr/sbin:/sbin command -v chroot) || {
	echo "chroot not found (coreutils)" >&2
	exit 1
}
qemu=$(command -v qemu-aarch64-static) || {
	echo "qemu-aarch64-static not found: apt-get install qemu-user-static" >&2
	exit 1
}

# ---- Build (the command documented in README.md) ----
musl=/usr/lib/aarch64-linux-musl
resource_dir=$(clang -print-resource-dir) || exit 1
libgcc=$(aarch64-linux-gnu-gcc -print-libgcc-file-name) || exit 1
for source in "$userland"/*.c; do
	name=$(basename "$source" .c)
	clang --target=aarch64-linux-musl -nostdinc -isystem /usr/include/aarch64-linux-musl \
		-isystem "$resource_dir/include" -static -nostdlib -fuse-ld=lld -O2 -Wall -Werror \
		"$musl/crt1.o" "$musl/crti.o" "$source" "$musl/libc.a" "$libgcc" "$musl/crtn.o" \
		-o "$root/bin/$name" || { echo "FAIL build $name"; exit 1; }
done
echo "built: $(cd "$root/bin" && ls | tr '\n' ' ')"

# ---- Running inside the tree ----

# The ELF header of a 64-bit little-endian aarch64 executable (ET_EXEC or ET_DYN), and its mask.
magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
cat >"$work/enter.sh" <<EOF
set -e
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
printf '%s' ':qemu-aarch64:M::$magic:$mask:$qemu:F' > /proc/sys/fs/binfmt_misc/register
root=\$1; shift
mount -t proc proc "\$root/proc"
mount --bind /dev/null "\$root/dev/null"
exec env -i PATH=/bin HOME=/ QEMU_CPU=cortex-a57 $chroot_tool "\$root" "\$@"
EOF
enter=(unshare --user --map-root-user --mount --pid --fork --kill-child sh "$work/enter.sh" "$root")

# Runs a command (a path inside the tree) with the caller's stdin; 60 s at most.
in_root() {
	timeout 60 "${enter[@]}" "$@"
}

if ! in_root /bin/true; then
	echo "cannot run programs in a private binfmt_misc namespace (needs Linux 6.7+ and" \
		"unprivileged user namespaces)" >&2
	exit 1
fi

passed=0
failed=0
pass() {
	echo "PASS $1"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $1"
	failed=$((failed + 1))
}

# expect NAME STATUS EXPECTED COMMAND...: runs COMMAND in the tree with this function's
# stdin, stdout and stderr merged; passes if both the text and the status match.
expect() {
	local name=$1 want_status=$2 want=$3
	shift 3
	local got status
	got=$(in_root "$@" 2>&1)
	status=$?
	if [[ $got == "$want" && $status == "$want_status" ]]; then
		pass "$name"
	else
		fail "$name (status $status, want $want_status)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/    /'
	fi
}

# expect_sorted NAME STATUS EXPECTED COMMAND...: like expect, with lines compared in sorted
# order (for output whose order is not specified, like env's).
expect_sorted() {
	local name=$1 want_status=$2 want=$3
	shift 3
	local got status
	got=$(in_root "$@" 2>&1)
	status=$?
	got=$(printf '%s\n' "$got" | LC_ALL=C sort)
	want=$(printf '%s\n' "$want" | LC_ALL=C sort)
	if [[ $got == "$want" && $status == "$want_status" ]]; then
		pass "$name"
	else
		fail "$name (status $status, want $want_status)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/    /'
	fi
}

# expect_match NAME STATUS REGEX COMMAND...: like expect, but the output must match an
# extended regular expression (for output that depends on times, ids or qemu).
expect_match() {
	local name=$1 want_status=$2 pattern=$3
	shift 3
	local got status
	got=$(in_root "$@" 2>&1)
	status=$?
	if [[ $got =~ $pattern && $status == "$want_status" ]]; then
		pass "$name"
	else
		fail "$name (status $status, want $want_status)"
		printf '%s\n' "$got" | sed 's/^/    got: /'
		printf '    want (regex): %s\n' "$pattern"
	fi
}

# ---- The shell ----

expect pipeline 0 'a b c' /bin/sh <<'EOF'
echo a b c | cat | cat
EOF

expect pipeline_status_is_last 0 '1
0' /bin/sh <<'EOF'
true | false; echo $?
false | true; echo $?
EOF

expect redirections 0 'one
two
one
two
three' /bin/sh <<'EOF'
echo one > /tmp/file
echo two >> /tmp/file
cat < /tmp/file
cat </tmp/file >/tmp/copy; echo three >>/tmp/copy
cat /tmp/copy
EOF

expect stderr_redirection 0 '1
ls: /nope: No such file or directory
sh: x: not found
sh: y: not found' /bin/sh <<'EOF'
ls /nope 2> /tmp/error; echo $?
cat /tmp/error
x 2>/tmp/error2; y 2>>/tmp/error2
cat /tmp/error2
EOF

expect dup_redirection 0 'to stderr' /bin/sh <<'EOF'
echo to stderr 1>&2 2>/dev/null
echo gone 2>/tmp/n >&2
EOF

expect missing_redirection_source 0 'sh: /nothing: No such file or directory
1' /bin/sh <<'EOF'
cat < /nothing
echo $?
EOF

expect status_after_false 0 '1
0
0' /bin/sh <<'EOF'
false
echo $?
true
echo $?
echo $?
EOF

expect cd_and_pwd 0 '/tmp
/tmp
/
sh: cd: /nonexistent: No such file or directory
1
/
/bin
/' /bin/sh <<'EOF'
cd /tmp
pwd
echo $PWD
cd
pwd
cd /nonexistent
echo $?
pwd
cd /bin; pwd; cd - > /dev/null; pwd
EOF

expect_sorted export_and_env 0 'PATH=/bin
HOME=/
GREETING=hello world
EMPTY=
hello world
inherited' /bin/sh <<'EOF'
unset QEMU_CPU
export GREETING='hello world'
export EMPTY
env
sh -c 'echo $GREETING'
LOCAL=inherited sh -c 'echo $LOCAL'
EOF

expect unset_and_braces 0 'x-value-y
[]
xy' /bin/sh <<'EOF'
NAME=value
echo x-${NAME}-y
unset NAME
echo "[$NAME]"
echo x${NAME}y
EOF

expect builtin_redirections 0 'after
sh: cd: /nope: No such file or directory
sh: still: not found
export A=1
export HOME=/
export PATH=/bin' /bin/sh <<'EOF'
cd /nope 2>/tmp/cd-error; echo after
cat /tmp/cd-error
still
unset QEMU_CPU; A=1; export > /tmp/exported
cat /tmp/exported
EOF

expect missing_command 0 'sh: nosuchcommand: not found
127
sh: /bin/nosuch: No such file or directory
127' /bin/sh <<'EOF'
nosuchcommand arguments
echo $?
/bin/nosuch
echo $?
EOF

expect not_executable 0 'sh: /tmp/data: Permission denied
126
sh: data: Permission denied
126' /bin/sh <<'EOF'
echo 'not a program' > /tmp/data
/tmp/data
echo $?
PATH=/tmp data
echo $?
EOF

expect quoting 0 'a  b c  / $HOME "x" it'"'"'s
single $HOME
x
two words one' /bin/sh <<'EOF'
echo 'a  b' "c  $HOME" \$HOME "\"x\"" it\'s
echo 'single $HOME'
echo ''x""
V='two words'; echo $V "one"
EOF

expect field_splitting 0 '3
1' /bin/sh <<'EOF'
V='a b c'
sh -c 'echo $#' zero $V
sh -c 'echo $#' zero "$V"
EOF

expect comments_and_separators 0 'one
two
three' /bin/sh <<'EOF'
# a whole-line comment
echo one # a trailing comment
echo two; echo three;
EOF

expect and_or_lists 0 'yes
no
after' /bin/sh <<'EOF'
true && echo yes
false && echo never
false || echo no
true || echo never; echo after
EOF

expect syntax_errors 2 "sh: syntax error near \`|'
2
sh: syntax error near \`newline'
2
sh: background jobs (&) are not supported
2
continued line
sh: unterminated quoted string" /bin/sh <<'EOF'
| cat
echo $?
echo >
echo $?
sleep 1 &
echo $?
echo continued \
line
echo 'open
EOF

expect file_name_patterns 0 'echo env
/bin/true
nomatch*
e*' /bin/sh <<'EOF'
cd /bin
echo e*
echo /bin/tru?
echo nomatch*
echo 'e*'
EOF

expect sh_dash_c 0 'zero one 1
7
a
b' /bin/sh <<'EOF'
sh -c 'echo $0 $1 $#' zero one
sh -c 'exit 7'; echo $?
sh -c 'echo a
echo b'
EOF

cat >"$root/tmp/script.sh" <<'EOF'
#!/bin/sh
# a script: arguments, a pipeline, a redirection, its own exit status
echo "script $0 got $# arguments: $1 $2"
echo piped | cat > /tmp/from-script
cat /tmp/from-script
exit 3
EOF
expect script_file 0 'script /tmp/script.sh got 2 arguments: first second
piped
3' /bin/sh <<'EOF'
sh /tmp/script.sh first second
echo $?
EOF

expect script_argument_from_host 3 'script /tmp/script.sh got 1 arguments: x 
piped' /bin/sh /tmp/script.sh x </dev/null

printf '#!/bin/sh\necho shebang script $1\n' >"$root/tmp/with-shebang"
printf 'echo plain script $1\n' >"$root/tmp/plain"
chmod 755 "$root/tmp/with-shebang" "$root/tmp/plain"
expect executable_scripts 0 'shebang script one
plain script two' /bin/sh <<'EOF'
/tmp/with-shebang one
PATH=/tmp:/bin plain two
EOF

expect exit_status_propagation 5 '' /bin/sh <<'EOF'
exit 5
echo never
EOF

expect eof_keeps_last_status 1 '' /bin/sh <<'EOF'
false
EOF

expect exit_without_argument 1 '' /bin/sh <<'EOF'
false
exit
EOF

expect exit_from_dash_c 42 '' /bin/sh -c 'exit 42'

expect interactive_prompt 1 '# hi
# > > multi
line
# # ' /bin/sh -i <<'EOF'
echo hi
echo "multi
line" |
cat
false
EOF

# ---- Utilities ----

expect echo_options 0 'no newline|tab	end
a\qb
cut' /bin/sh <<'EOF'
echo -n 'no newline'; echo -e '|tab\tend'
echo -e 'a\qb'
echo -e 'cut\cnever'
EOF

expect cat_files_and_stdin 0 'one
middle
one' /bin/sh <<'EOF'
echo one > /tmp/a
echo middle | cat /tmp/a - /tmp/a
EOF

expect mkdir_rm 1 'c
1
0
ls: /tmp/m: No such file or directory' /bin/sh <<'EOF'
mkdir -p /tmp/m/b/c; ls /tmp/m/b
rm /tmp/m 2>/dev/null; echo $?
rm -r /tmp/m; echo $?
ls /tmp/m
EOF

cat >"$root/tmp/ls-test.sh" <<'EOF'
mkdir /tmp/l; cd /tmp/l
echo 12345 > file; mkdir dir; echo > .hidden
ls
ls -a
ls file dir
EOF
expect ls_names 0 'dir
file
.
..
.hidden
dir
file
file

dir:' /bin/sh /tmp/ls-test.sh

expect_match ls_long_checks 0 '^-rw-r--r--   1    0    0         6 [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} /tmp/f
d[rwx-]{9} +[0-9]+ +0 +0 +[0-9]+ [0-9-]+ [0-9:]+ x$' /bin/sh <<'EOF'
echo hello > /tmp/f
ls -l /tmp/f
mkdir /tmp/d; mkdir /tmp/d/x; ls -l /tmp/d
EOF

ln -s /tmp/target "$root/tmp/link"
expect_match ls_long_link_and_device 0 '^lrwxrwxrwx +1 +0 +0 +11 [0-9-]+ [0-9:]+ /tmp/link -> /tmp/target
crw-rw-rw- +1 +0 +0 +1, 3 [0-9-]+ [0-9:]+ /dev/null$' /bin/sh <<'EOF'
ls -l /tmp/link /dev/null
EOF

expect true_false 0 '0 1' /bin/sh <<'EOF'
true; t=$?; false; echo $t $?
EOF

expect env_utility 0 'A=1
B=2
only' /bin/sh <<'EOF'
env -i A=1 B=2
env -i X=only sh -c 'echo $X'
EOF

expect_match uname 0 '^Linux
Linux [^ ]+ [^ ]+ .* aarch64$' /bin/sh <<'EOF'
uname
uname -a
EOF

expect_match sleep_and_time 0 '^real 0\.[2-9][0-9]{5} s
user [0-9]+\.[0-9]{6} s
sys  [0-9]+\.[0-9]{6} s
0
real [0-9.]+ s
user [0-9.]+ s
sys  [0-9.]+ s
3
time: nosuch: not found
real [0-9.]+ s
user [0-9.]+ s
sys  [0-9.]+ s
127$' /bin/sh <<'EOF'
time sleep 0.2; echo $?
time sh -c 'exit 3'; echo $?
time nosuch; echo $?
EOF

expect_match ps 0 '^  PID  PPID STATE COMMAND
    1     0 [A-Z]     .*/bin/sh -c ps; true
 +[0-9]+     1 [0-9A-Z]     /bin/ps$' /bin/sh -c 'ps; true'

expect_match init_demo 4 '^init: wall clock  20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} UTC
init: uptime      [0-9]+\.[0-9]{6} s
init: vDSO        no AT_SYSINFO_EHDR: clock reads are system calls
init: maps        no \[vvar\] or \[vdso\] line in /proc/self/maps
init: fork\+exec   /bin/echo hello from a child process
hello from a child process
init: child [0-9]+ exited with status 0
init: starting /bin/sh \(Ctrl-D or `exit` ends the session\)
# from the shell
# 
?$' /bin/init <<'EOF'
echo from the shell
exit 4
EOF

expect vdsodump_without_vdso 1 'vdsodump: no [vdso] line in /proc/self/maps
vdsodump: no AT_SYSINFO_EHDR in the auxiliary vector (no vDSO)' /bin/vdsodump /tmp/dump

vdso_image=$workspace/target/vdso/vdso.so
if [[ -f $vdso_image ]]; then
	cp "$vdso_image" "$root/tmp/vdso.so"
	want="vdsodump: /tmp/vdso.so, $(stat -c %s "$vdso_image") bytes
vdsodump: soname $(readelf -d "$vdso_image" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
	# Every defined global symbol readelf sees, in table order, with version and size.
	while read -r _ value size _ bind _ index name; do
		[[ $index == UND || ($bind != GLOBAL && $bind != WEAK) ]] && continue
		want+=$'\n'"vdsodump: export $name at 0x$(printf '%x' $((16#$value))), $size bytes"
	done < <(readelf -W --dyn-syms "$vdso_image" | sed -n '/^ *[0-9]*:/p')
	expect vdsodump_describe_vdso_so 0 "$want" /bin/vdsodump --describe /tmp/vdso.so
else
	echo "SKIP vdsodump_describe_vdso_so: no $vdso_image (cargo xtask vdso builds it)"
fi

# The shell on a terminal: script(1) gives it a pseudo-terminal in canonical mode, so
# isatty(0) holds, read() returns one line, the tty echoes what is typed, and Ctrl-D at
# the prompt ends the shell with the last status. Input is paced so prompts and echoes
# come in a fixed order.
if command -v script >/dev/null; then
	(sleep 1; printf 'echo one | cat\n'; sleep 1; printf 'false\n'; sleep 1; printf '\004') |
		timeout 60 script -q -e -c "${enter[*]} /bin/sh" /dev/null >"$work/terminal.out"
	status=$?
	got=$(tr -d '\r' <"$work/terminal.out")
	want='# echo one | cat
one
# false
# '
	if [[ $got == "$want" && $status == 1 ]]; then
		pass terminal_session
	else
		fail "terminal_session (status $status, want 1)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/    /'
	fi
else
	echo "SKIP terminal_session: no script(1) (util-linux)"
fi

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
