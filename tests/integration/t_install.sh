# make install DESTDIR=... lays out the tree that aibproxyd(8)'s FILES
# section names, keeps an existing configuration, and uninstall undoes
# it.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
R="$T/root"
mk() { make -s -C "$TOP" O="${O:-obj}" SANITIZE="${SANITIZE:-0}" DESTDIR="$R" "$@" >"$T/make.log" 2>&1; }

mk install
check "make install DESTDIR=... succeeds" test $? = 0
mode() { stat -c %a "$R$1" 2>/dev/null; }
check "aibproxyd in sbin, 0555" test "$(mode /usr/sbin/aibproxyd)" = 555
check "aibproxyd-ca in sbin, 0555" test "$(mode /usr/sbin/aibproxyd-ca)" = 555
check "signerd under libexec, 0555" test "$(mode /usr/libexec/aibproxyd/signerd)" = 555
check "the sample configuration, 0640" test "$(mode /etc/aibproxyd.yaml)" = 640
check "the init script" test "$(mode /etc/init.d/aibproxyd)" = 555
check "the systemd unit" test "$(mode /usr/lib/systemd/system/aibproxyd.service)" = 444
check "the unit runs the installed binary" \
    grep -q "^ExecStart=/usr/sbin/aibproxyd -d -f /etc/aibproxyd.yaml" \
    "$R/usr/lib/systemd/system/aibproxyd.service"
check "the init script runs the installed binary" \
    grep -q "^DAEMON=/usr/sbin/aibproxyd" "$R/etc/init.d/aibproxyd"
check "the installed signerd path is the one built in" \
    grep -q "/usr/libexec/aibproxyd/signerd" "$R/usr/sbin/aibproxyd"

# Every installed path the man page's FILES section names is there.
missing=
for f in $(sed -n '/^\.Sh FILES/,/^\.Sh /p' "$TOP/man/aibproxyd.8" |
    awk '/^\.It Pa / {print $3}'); do
	case "$f" in
	/var/empty|/etc/hosts|/etc/resolv.conf|/run/*|/etc/rc.d/*) continue ;;
	esac
	[ -e "$R$f" ] || missing="$missing $f"
done
check "every file aibproxyd(8) names is installed" test -z "$missing"
[ -z "$missing" ] || echo "# missing:$missing"
for page in man8/aibproxyd.8 man8/signerd.8 man5/aibproxyd.yaml.5; do
	check "man page $page installed" test -e "$R/usr/share/man/$page"
done

echo "# edited by the operator" >> "$R/etc/aibproxyd.yaml"
mk install
check "a second install keeps the operator's configuration" \
    grep -q "edited by the operator" "$R/etc/aibproxyd.yaml"

mk uninstall
check "make uninstall removes the programs" \
    test ! -e "$R/usr/sbin/aibproxyd" -a ! -e "$R/usr/libexec/aibproxyd/signerd"
check "and the man pages and service files" \
    test ! -e "$R/usr/share/man/man8/aibproxyd.8" -a ! -e "$R/etc/init.d/aibproxyd"
check "but never the configuration" test -e "$R/etc/aibproxyd.yaml"
