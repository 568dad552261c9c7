#!/usr/bin/env python3
"""The lab's WAN: a userspace forwarder between two hosts' network namespaces (no netem here).

  wan.py link PID_A TUN_A PID_B TUN_B DELAY_MS JITTER_MS
      Opens a TUN device named TUN_A in the network namespace of process PID_A and TUN_B in
      that of PID_B (a TUN fd stays bound to the namespace it was created in, so the process
      switches namespace with setns between the two opens), then moves IP packets between
      them: each one waits the one-way delay +- jitter (uniform), never overtaking the one
      before it in the same direction (a real path keeps order; reordering would be another
      fault), and is dropped at the loss rate. Prints "ready" when both devices exist.
      Commands on stdin, one per line:
        loss P          random loss rate P (0..1), both directions
        blackhole S     drop everything for S seconds (S <= 0 ends a blackhole at once)
        down / up       drop everything until "up"
        stats           print "stats <forwarded> <dropped>"
      EOF on stdin ends the process (the lab going away ends its forwarders).

  wan.py ping PID ADDR COUNT
      ICMP echo from PID's namespace to ADDR, COUNT times 200 ms apart; prints
      "rtt <min> <avg> <max> <received>/<count>" in ms.
"""
import ctypes
import fcntl
import os
import random
import select
import socket
import struct
import sys
import time
from collections import deque

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

libc = ctypes.CDLL(None, use_errno=True)


def setns(pid):
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {pid}: {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Direction:
    """One direction of the path: a FIFO of (due time, packet)."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.queue = deque()
        self.last_due = 0.0


def link(pid_a, tun_a, pid_b, tun_b, delay_ms, jitter_ms):
    # The browsers and nodes keep the lab's CPUs busy; a forwarder that waits for a core adds
    # delay the lab did not ask for. Its own work is small, so it goes first.
    try:
        os.nice(-10)
    except OSError:
        pass
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    setns(pid_a)
    fd_a = open_tun(tun_a)
    setns(pid_b)
    fd_b = open_tun(tun_b)
    libc.setns(own, CLONE_NEWNET)
    os.close(own)
    delay, jitter = delay_ms / 1000.0, jitter_ms / 1000.0
    loss = 0.0
    blocked_until = 0.0
    down = False
    forwarded = dropped = 0
    dirs = {fd_a: Direction(fd_a, fd_b), fd_b: Direction(fd_b, fd_a)}
    stdin = sys.stdin.fileno()
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        due = [d.queue[0][0] for d in dirs.values() if d.queue]
        timeout = max(0.0, min(due) - now) if due else 1.0
        readable, _, _ = select.select([fd_a, fd_b, stdin], [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            if fd == stdin:
                line = sys.stdin.readline()
                if not line:
                    return
                cmd = line.split()
                if not cmd:
                    continue
                if cmd[0] == "loss":
                    loss = float(cmd[1])
                elif cmd[0] == "blackhole":
                    blocked_until = now + float(cmd[1])
                elif cmd[0] == "down":
                    down = True
                elif cmd[0] == "up":
                    down = False
                    blocked_until = 0.0
                elif cmd[0] == "stats":
                    print(f"stats {forwarded} {dropped}", flush=True)
                continue
            d = dirs[fd]
            # Drain what the kernel has queued: one select wake-up per packet would cost more.
            for _ in range(64):
                try:
                    pkt = os.read(fd, 65535)
                except BlockingIOError:
                    break
                if down or now < blocked_until or (loss > 0 and random.random() < loss):
                    dropped += 1
                    continue
                at = now + delay + random.uniform(-jitter, jitter)
                at = max(at, d.last_due)
                d.last_due = at
                d.queue.append((at, pkt))
        for d in dirs.values():
            while d.queue and d.queue[0][0] <= now:
                _, pkt = d.queue.popleft()
                # A packet that was in flight when the path went down is lost with it.
                if down or now < blocked_until:
                    dropped += 1
                    continue
                try:
                    os.write(d.dst, pkt)
                    forwarded += 1
                except OSError:
                    dropped += 1  # device not up yet, or its queue full: the packet is lost


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(pid, addr, count):
    setns(pid)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.settimeout(1.0)
    ident = os.getpid() & 0xFFFF
    rtts = []
    for seq in range(count):
        body = struct.pack("!d", time.monotonic()) + b"octomesh-lab"
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + body), ident, seq) + body
        sent = time.monotonic()
        sock.sendto(pkt, (addr, 0))
        while True:
            try:
                data, _ = sock.recvfrom(2048)
            except socket.timeout:
                break
            ihl = (data[0] & 0x0F) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ == 0 and rid == ident and rseq == seq:
                rtts.append((time.monotonic() - sent) * 1000)
                break
        time.sleep(0.2)
    if rtts:
        print(f"rtt {min(rtts):.1f} {sum(rtts) / len(rtts):.1f} {max(rtts):.1f} {len(rtts)}/{count}", flush=True)
    else:
        print(f"rtt - - - 0/{count}", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "link" and len(sys.argv) == 8:
        a = sys.argv[2:]
        link(int(a[0]), a[1], int(a[2]), a[3], float(a[4]), float(a[5]))
    elif mode == "ping" and len(sys.argv) == 5:
        ping(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
