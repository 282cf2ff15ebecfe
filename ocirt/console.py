"""The terminal relay of a foreground `run` / `exec` without --console-socket (runc's tty.go).

ocirt hands the init one end of a socketpair as its console socket; the init sends the pty
master over it (the same SCM_RIGHTS protocol as --console-socket). We then copy our stdin
to the master and the master to our stdout, with our stdin in raw mode when it is a
terminal (the container's pty does the line discipline), resize the pty to our terminal
at the start and on SIGWINCH, and restore the terminal at the end.
"""

from __future__ import annotations

import _socket
import errno
import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_TIOCGWINSZ = 0x5413
_TIOCSWINSZ = 0x5414
_CHUNK = 65536


class ConsoleError(OSError):
    pass


class Relay:
    """One end goes to the init (`their_fd`, as a console socket); the master comes back."""

    def __init__(self) -> None:
        self._ours, theirs = _socket.socketpair(
            _socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        self._theirs: _socket.socket | None = theirs
        self.master = -1
        self._saved_tty: list[Any] | None = None

    @property
    def their_fd(self) -> int:
        assert self._theirs is not None
        return self._theirs.fileno()

    def close(self) -> None:
        if self._theirs is not None:
            self._theirs.close()
            self._theirs = None
        self._ours.close()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        self.restore()

    def receive(self, timeout: float = 10.0) -> int:
        """The pty master the init sent (it did, before it reported ready)."""
        if self._theirs is not None:
            self._theirs.close()  # only the init's copy may remain: EOF if it sent nothing
            self._theirs = None
        self._ours.settimeout(timeout)
        try:
            _msg, anc, _flags, _addr = self._ours.recvmsg(
                4096, _socket.CMSG_SPACE(4), _socket.MSG_CMSG_CLOEXEC)
        except OSError as e:
            raise ConsoleError(e.errno or errno.EIO, "receive the pty master") from None
        fds = [int.from_bytes(data[i:i + 4], "little", signed=True)
               for level, kind, data in anc
               if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
               for i in range(0, len(data) - len(data) % 4, 4)]
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise ConsoleError(errno.EPROTO, "receive the pty master: no fd on the socket")
        self.master = fds[0]
        return self.master

    # -- our terminal --------------------------------------------------------------------
    def make_raw(self) -> None:
        """Our stdin in raw mode when it is a terminal (restored by restore())."""
        if not os.isatty(0):
            return
        import termios
        import tty

        self._saved_tty = termios.tcgetattr(0)
        tty.setraw(0, termios.TCSANOW)

    def restore(self) -> None:
        if self._saved_tty is not None:
            import termios

            try:
                termios.tcsetattr(0, termios.TCSANOW, self._saved_tty)
            except termios.error:
                pass
            self._saved_tty = None

    def resize(self) -> None:
        """The pty takes the size of our terminal (stdin's, else stdout's)."""
        if self.master < 0:
            return
        from fcntl import ioctl

        for fd in (0, 1, 2):
            try:
                size = ioctl(fd, _TIOCGWINSZ, b"\0" * 8)
            except OSError:
                continue
            try:
                ioctl(self.master, _TIOCSWINSZ, size)
            except OSError:
                pass
            return

    # -- copying -------------------------------------------------------------------------
    def copy(self, pid_fd: int) -> None:
        """Copy stdin → master and master → stdout until the process behind pid_fd exited
        and the master has nothing more to say (or every slave is closed)."""
        master = self.master
        poller = select.poll()
        poller.register(master, select.POLLIN)
        poller.register(pid_fd, select.POLLIN)
        stdin_open = _readable(0)
        if stdin_open:
            poller.register(0, select.POLLIN)
        exited = False
        while True:
            # once the process is gone, only drain what the pty already holds
            events = poller.poll(50 if exited else None)
            if not events and exited:
                return
            for fd, ev in events:
                if fd == pid_fd:
                    exited = True
                    poller.unregister(pid_fd)
                elif fd == master:
                    try:
                        data = os.read(master, _CHUNK)
                    except OSError as e:  # EIO: every slave closed
                        if e.errno == errno.EIO:
                            return
                        raise
                    if not data:
                        return
                    _write_all(1, data)
                elif fd == 0:
                    try:
                        data = os.read(0, _CHUNK) if ev & (select.POLLIN | select.POLLHUP) \
                            else b""
                    except OSError:
                        data = b""
                    if not data:
                        poller.unregister(0)
                        continue
                    _write_all(master, data)


def _readable(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [])
        except BrokenPipeError:
            return
