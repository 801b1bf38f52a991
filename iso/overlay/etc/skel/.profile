# ~/.profile of the live user bee. On tty1 the operator menu replaces the shell (it runs as root through
# the one sudo rule); other terminals and SSH get a normal shell.
if [ -n "${BASH_VERSION:-}" ] && [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi
if [ "$(tty 2>/dev/null)" = /dev/tty1 ] && [ -x /usr/local/bin/bee-tui ]; then
  exec /usr/local/bin/bee-tui
fi
