#!/bin/sh
# bee: the network boot's squashfs download (live-boot's fetch=), made patient and talkative. live-boot
# tries once and drops to a panic shell; here a failed download (no address, server down, 404, a server silent
# for 60 s, short read, checksum mismatch against bee.squashfs_sha256=) is said on every console — through the kernel log, so the
# serial port and BMC serial-over-LAN see it too — and retried after 5, 10, 20, 40, then every 60 s. The
# download goes to a ramfs: nothing is written to local disks. Other live-boot network modes (httpfs=,
# ftpfs=, fetch= of an .iso) keep live-boot's own code.

# live-boot's own do_httpmount, under another name (sourced from its file, so it follows live-boot updates)
# (BEE_LIVE_BOOT_DIR, BEE_CMDLINE and BEE_KMSG exist for the tests; at boot they are unset)
eval "$(sed 's/^do_httpmount ()/bee_live_httpmount ()/' "${BEE_LIVE_BOOT_DIR:-/usr/lib/live/boot}/9990-mount-http.sh")"

bee_say ()
{
	echo "<3>bee-netboot: $*" >> "${BEE_KMSG:-/dev/kmsg}" 2>/dev/null || echo "bee-netboot: $*" > /dev/console
}

# fetch=http://host/dir/bee.ipxe/../filesystem.squashfs (an old iPXE has no ${cwduri}) → the plain URL
bee_fold_url ()
{
	echo "$1" | sed -e ':a' -e 's#/[^/][^/]*/\.\./#/#' -e 'ta'
}

bee_addresses ()
{
	ip -4 -o addr show scope global 2>/dev/null | awk '{print $2 "=" $4}' | tr '\n' ' '
}

do_httpmount ()
{
	case "${FETCH}" in
		http://*.squashfs|https://*.squashfs) ;;
		*) bee_live_httpmount; return $? ;;
	esac
	if [ -n "${HTTPFS}${FTPFS}" ]
	then
		bee_live_httpmount
		return $?
	fi
	url="$(bee_fold_url "${FETCH}")"
	want="$(sed -n 's/.*bee\.squashfs_sha256=\([0-9a-f]\{64\}\).*/\1/p' "${BEE_CMDLINE:-/proc/cmdline}")"
	dest="${mountpoint}/${LIVE_MEDIA_PATH}"
	file="${dest}/$(basename "${url}")"
	try=0
	wait=5
	while true
	do
		try=$((try + 1))
		mount -t ramfs ram "${mountpoint}"
		mkdir -p "${dest}"
		bee_say "downloading ${url} (try ${try}; this node: $(bee_addresses))"
		why=""
		if ! out="$(wget -q -T 60 "${url}" -O "${file}" 2>&1)"
		then
			why="${out:-wget failed}"
		elif [ -n "${want}" ]
		then
			got="$(sha256sum "${file}" | cut -d' ' -f1)"
			[ "${got}" = "${want}" ] || why="checksum mismatch (got ${got}, want ${want}): a short or damaged download"
		fi
		if [ -z "${why}" ]
		then
			bee_say "downloaded $(wc -c < "${file}") bytes${want:+, sha256 verified}"
			return 0
		fi
		rm -f "${file}"
		umount "${mountpoint}"
		[ -n "$(bee_addresses)" ] || why="${why}; this node has no IPv4 address (DHCP?)"
		bee_say "cannot fetch ${url}: $(echo "${why}" | tr '\n' ' ' | cut -c1-300); retrying in ${wait} s"
		sleep "${wait}"
		wait=$((wait * 2))
		[ "${wait}" -le 60 ] || wait=60
	done
}
