#!/bin/sh
# Create the system users aibproxyd runs its children as, and the empty
# chroot directory, if they are missing.
set -e
for u in _aibproxyd _aibsignerd; do
	id "$u" >/dev/null 2>&1 && continue
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /var/empty \
		    --shell /usr/sbin/nologin --user-group "$u"
	else
		# OpenBSD
		groupadd "$u" 2>/dev/null || true
		useradd -g "$u" -d /var/empty -s /sbin/nologin "$u"
	fi
	echo "created user $u"
done
if [ ! -d /var/empty ]; then
	mkdir -p /var/empty
	echo "created /var/empty"
fi
chown root:root /var/empty 2>/dev/null || chown root:wheel /var/empty
chmod 0755 /var/empty
