#!/bin/sh
# bee live ISO smoke test. Run on a booted bee as root:   ssh root@HOST 'sh -s' < iso/builder/smoketest.sh
# One line per check: PASS|FAIL|SKIP <check> [— detail]; exit 0 only when no check FAILs.
# SMOKE_WAIT (seconds, default 600) bounds the wait for the boot audit to finish.
set -u
fails=0
pass() { echo "PASS $1${2:+ — $2}"; }
fail() { echo "FAIL $1${2:+ — $2}"; fails=$((fails + 1)); }
skip() { echo "SKIP $1${2:+ — $2}"; }
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi; }

wait=${SMOKE_WAIT:-600}

# --- units -------------------------------------------------------------------------------------------
# the audit is the slow one: wait for it to leave "activating"
n=0
while [ "$(systemctl is-active bee-audit.service 2>/dev/null)" = activating ] && [ "$n" -lt "$wait" ]; do
  sleep 2; n=$((n + 2))
done
prop() { systemctl show -p "$2" --value "$1" 2>/dev/null; }
for u in bee-sshsetup bee-network bee-nvidia bee-audit; do
  s="$(prop "$u.service" ActiveState)/$(prop "$u.service" Result)"
  case "$s" in active/success) pass "unit $u" "$s" ;; *) fail "unit $u" "$s" ;; esac
done
for u in bee-web ssh; do
  s="$(prop "$u.service" ActiveState)/$(prop "$u.service" SubState)"
  case "$s" in active/running) pass "unit $u" "$s" ;; *) fail "unit $u" "$s" ;; esac
done
failed=$(systemctl list-units --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | paste -sd' ' -)
if [ -z "$failed" ]; then pass "no failed units"; else fail "no failed units" "$failed"; fi
order=$(systemctl show -p After --value ssh.service 2>/dev/null)
case "$order" in *bee-sshsetup.service*) pass "ssh after bee-sshsetup" ;; *) fail "ssh after bee-sshsetup" ;; esac
case "$(systemctl show -p After,Wants,Requires --value ssh.service bee-audit.service 2>/dev/null)" in
  *network-online.target*) fail "ssh and audit do not wait for network-online" ;;
  *) pass "ssh and audit do not wait for network-online" ;;
esac

# --- ssh ---------------------------------------------------------------------------------------------
if ss -ltnH 2>/dev/null | awk '{print $4}' | grep -Eq '(^|:)22$'; then pass "sshd listening on 22"; else fail "sshd listening on 22"; fi
pa=$(sshd -T 2>/dev/null | awk '$1 == "passwordauthentication" {print $2}')
if [ -f /etc/bee/ssh-password-login ]; then
  if [ "$pa" = yes ] && [ -s /run/bee/root-password ]; then pass "password login (built without keys)" "per-boot password"; else fail "password login (built without keys)" "passwordauthentication=$pa"; fi
else
  if [ "$pa" = no ] && [ -s /root/.ssh/authorized_keys ]; then pass "key-only login" "passwordauthentication=no"; else fail "key-only login" "passwordauthentication=$pa"; fi
fi
if ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1; then pass "host keys made at boot"; else fail "host keys made at boot"; fi

# --- audit and web -----------------------------------------------------------------------------------
a=/var/log/bee-audit.json
if [ -s "$a" ] && grep -q '"summary"' "$a" && grep -Eq '"verdict": ?"(PASS|WARN|FAIL)"' "$a"; then
  pass "audit with hardware.summary" "$(grep -Eo '"verdict": ?"[A-Z]+"' "$a" | head -n 1)"
else
  fail "audit with hardware.summary" "$a"
fi
page=$(curl -fsS -m 15 http://127.0.0.1/ 2>/dev/null)
if printf '%s' "$page" | grep -Eq '>(PASS|WARN|FAIL)<|verdict'; then pass "web page on :80 shows the verdict"; else fail "web page on :80 shows the verdict"; fi
check "web /healthz" curl -fsS -m 10 http://127.0.0.1/healthz
wu=$(systemctl show -p MainPID --value bee-web.service 2>/dev/null)
if [ -n "$wu" ] && [ "$wu" != 0 ] && [ "$(stat -c %u "/proc/$wu" 2>/dev/null)" != 0 ]; then
  pass "bee web runs unprivileged" "uid $(stat -c %u "/proc/$wu")"
else
  fail "bee web runs unprivileged"
fi
check "bee version" /usr/local/bin/bee version
# software RAID: read from superblocks, never assembled by the image itself (mdadm.conf says AUTO -all, and
# mdadm's udev assembly rule is replaced by one with no rule in it)
rule=/etc/udev/rules.d/64-md-raid-assembly.rules
if grep -q '^AUTO -all' /etc/mdadm/mdadm.conf 2>/dev/null && [ -f "$rule" ] && ! grep -qv '^#' "$rule"; then
  pass "md arrays are not auto-assembled" "AUTO -all, udev assembly rule replaced"
else
  fail "md arrays are not auto-assembled"
fi
check "mdadm installed" command -v mdadm

# --- console -----------------------------------------------------------------------------------------
# the menu on tty1: `bee tui --runtime livecd` running as root, below a sudo started on tty1 by user bee
# (sudo's real user; with use_pty the menu itself sits on a pty of sudo's)
chain=$(ps -eo pid=,ppid=,user=,ruser=,tty=,args= 2>/dev/null | awk '
  { pid=$1; ppid[pid]=$2; user[pid]=$3; ruser[pid]=$4; tty[pid]=$5; $1=$2=$3=$4=$5=""; args[pid]=$0 }
  END {
    for (p in args) if (args[p] ~ /(main\.ts|bee\.js) tui --runtime livecd/ && user[p] == "root") {
      q = ppid[p]
      for (i = 0; i < 10 && q > 1; i++) {
        if (args[q] ~ /sudo/ && ruser[q] == "bee" && tty[q] == "tty1") { print "ok"; exit }
        q = ppid[q]
      }
    }
  }')
if [ "$chain" = ok ]; then pass "tty1 runs the menu as root via sudo from user bee"; else fail "tty1 runs the menu as root via sudo from user bee"; fi
rules=$(sudo -l -U bee 2>/dev/null | sed -n '/may run the following/,$p' | grep -c '^ ')
if [ "$rules" = 1 ] && sudo -l -U bee 2>/dev/null | grep -q '/usr/local/bin/bee tui --runtime livecd'; then
  pass "sudo: bee may run only the menu"
else
  fail "sudo: bee may run only the menu" "$rules rule(s)"
fi
case "$(cat /proc/cmdline)" in *console=ttyS0*) pass "serial console on ttyS0" ;; *) fail "serial console on ttyS0" ;; esac

# --- live medium -------------------------------------------------------------------------------------
case " $(cat /proc/cmdline) " in *" toram "*) pass "booted with toram" ;; *) fail "booted with toram" ;; esac
held=$(awk '$1 ~ /^\/dev\/(sr|sd|vd|nvme|hd)/ && $2 ~ /^\/run\/live/ {print $1" on "$2}' /proc/mounts | paste -sd, -)
if [ -z "$held" ]; then pass "live medium not needed (copied to RAM)"; else fail "live medium not needed (copied to RAM)" "$held"; fi

# --- nothing installs at runtime ---------------------------------------------------------------------
btime=$(awk '/^btime/ {print $2}' /proc/stat)
late=""
for f in /var/log/dpkg.log /var/log/apt/history.log /var/lib/dpkg/status; do
  [ -e "$f" ] || continue
  [ "$(stat -c %Y "$f")" -ge "$btime" ] && late="$late $f"
done
if pgrep -x 'apt|apt-get|dpkg|unattended-upgr|aptitude' >/dev/null 2>&1; then late="$late (running now)"; fi
if [ -z "$late" ]; then pass "no package manager ran since boot"; else fail "no package manager ran since boot" "$late"; fi
for t in apt-daily.timer apt-daily-upgrade.timer; do
  st=$(systemctl is-enabled "$t" 2>/dev/null)
  case "$st" in masked|"") pass "$t off" "${st:-absent}" ;; *) fail "$t off" "$st" ;; esac
done
# unattended acceptance (bee.sat= on the kernel line): the unit is there for every boot and did not fail
st=$(systemctl is-enabled bee-sat-auto.service 2>/dev/null)
if [ "$st" = enabled ] && ! systemctl is-failed --quiet bee-sat-auto.service; then
  pass "unattended SAT unit" "$(grep -o 'bee\.sat=[^ ]*' /proc/cmdline || echo 'no bee.sat=')"
else fail "unattended SAT unit" "${st:-absent}, $(systemctl is-active bee-sat-auto.service 2>/dev/null)"; fi
if [ -f /usr/lib/live/boot/9991-bee-fetch.sh ]; then pass "network boot fetch hook"; else fail "network boot fetch hook"; fi
if [ -s /etc/bee-release ]; then pass "/etc/bee-release" "$(grep -E '^BEE_VERSION|^BEE_GIT_COMMIT' /etc/bee-release | paste -sd' ' -)"; else fail "/etc/bee-release"; fi

# --- NVIDIA ------------------------------------------------------------------------------------------
gpus=0
for d in /sys/bus/pci/devices/*; do
  case "$(cat "$d/vendor" 2>/dev/null):$(cat "$d/class" 2>/dev/null)" in 0x10de:0x03*) gpus=$((gpus + 1)) ;; esac
done
if [ "$gpus" -eq 0 ]; then
  skip "NVIDIA modules loaded" "no NVIDIA device on the bus"
  skip "nvidia-smi sees every GPU" "no NVIDIA device on the bus"
  skip "NVIDIA library links" "no NVIDIA device on the bus"
  skip "Fabric Manager on NVSwitch systems" "no NVIDIA device on the bus"
  skip "audit has NVIDIA data" "no NVIDIA device on the bus"
  if journalctl -b -u bee-nvidia.service --no-pager 2>/dev/null | grep -q 'no NVIDIA device'; then
    pass "bee-nvidia: no NVIDIA device"
  else
    fail "bee-nvidia: no NVIDIA device"
  fi
else
  if lsmod | grep -q '^nvidia '; then pass "NVIDIA modules loaded"; else fail "NVIDIA modules loaded" "$gpus GPU(s) on the bus"; fi
  n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
  if [ "$n" -eq "$gpus" ]; then pass "nvidia-smi sees every GPU" "$n"; else fail "nvidia-smi sees every GPU" "$n of $gpus"; fi
  links=$(for l in libnvidia-ml.so.1 libcuda.so.1 libcublas.so.12 libcublasLt.so.12 libcudart.so.12 libnccl.so.2; do ldconfig -p | grep -q "$l" || printf "%s " "$l"; done)
  if [ -z "$links" ]; then pass "NVIDIA library links"; else fail "NVIDIA library links" "missing: $links"; fi
  sw=0
  for d in /sys/bus/pci/devices/*; do
    case "$(cat "$d/vendor" 2>/dev/null):$(cat "$d/class" 2>/dev/null)" in 0x10de:0x068*) sw=$((sw + 1)) ;; esac
  done
  if [ "$sw" -eq 0 ]; then skip "Fabric Manager on NVSwitch systems" "no NVSwitch"
  elif systemctl is-active --quiet nvidia-fabricmanager.service; then pass "Fabric Manager on NVSwitch systems"
  else fail "Fabric Manager on NVSwitch systems" "$sw NVSwitch(es), fabric manager not running"; fi
  if grep -q '"nvidia": *\[' "$a" 2>/dev/null; then pass "audit has NVIDIA data"; else fail "audit has NVIDIA data"; fi
fi

echo "smoketest: $fails failed"
[ "$fails" -eq 0 ]
