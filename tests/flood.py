#!/usr/bin/env python3
# tests/flood.py - the careless and hostile peers of flood_test.sh: many
# sockets that stop part way (idle, inside a PDU header, half way through
# a Connect), or one host that sends reads and never reads the answers.
#
#   flood.py MODE SRC_ADDR PORT COUNT WAIT_S
#
# Opens COUNT connections from SRC_ADDR (any 127.x address works on
# loopback, so the target sees a peer apart from the honest client),
# prints "ready", then waits up to WAIT_S seconds for the target to close
# them and prints "closed N of COUNT" (COUNT less any whose connect timed
# out: a target at its cap stops accepting). MODE never-read holds its one
# connected host open for WAIT_S seconds instead.
import os, select, socket, struct, sys, time

mode, src, port, count, wait_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), float(sys.argv[5])

HOSTNQN = b"nqn.2014-08.org.nvmexpress:uuid:0f100d00-0000-4000-8000-000000000001"
SUBNQN = b"nqn.2026-11.io.nvmf:flood"

def icreq():		# ICReq: 128 bytes, PFV 0, no digests [TCP-1.0c Fig. 26]
    return struct.pack("<BBBBIHBBI", 0, 0, 128, 0, 128, 0, 0, 0, 0).ljust(128, b"\0")

def capsule(sqe, data=b""):	# CapsuleCmd: 72-byte header, in-capsule data
    hdr = struct.pack("<BBBBI", 4, 0, 72, 72 if data else 0, 72 + len(data))
    return hdr + sqe + data

def connect_sqe(cid, qid, sqsize, kato):	# Fabrics Connect, ICD SGL of 1024
    sqe = struct.pack("<BBHB", 0x7f, 0x40, cid, 0x01).ljust(24, b"\0")
    sqe += struct.pack("<QI3xB", 0, 1024, 0x01)
    sqe += struct.pack("<HHHBxI", 0, qid, sqsize, 0, kato)
    return sqe.ljust(64, b"\0")

def connect_data(cntlid):
    d = b"\x5a" * 16 + struct.pack("<H", cntlid)
    return d.ljust(256, b"\0") + SUBNQN.ljust(256, b"\0") + HOSTNQN.ljust(512, b"\0")

def prop_set_sqe(cid, ofst, value):	# Fabrics Property Set, 4 bytes
    sqe = struct.pack("<BBHB", 0x7f, 0x40, cid, 0x00).ljust(40, b"\0")
    return (sqe + struct.pack("<B3xIQ", 0, ofst, value)).ljust(64, b"\0")

def read_sqe(cid, slba, nlb):	# NVM Read, data by R2T-less C2HData
    sqe = struct.pack("<BBHI", 0x02, 0x40, cid, 1).ljust(24, b"\0")
    sqe += struct.pack("<QI3xB", 0, nlb * 512, 0x5a)
    sqe += struct.pack("<QI", slba, nlb - 1)
    return sqe.ljust(64, b"\0")

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

def recv_rsp(s):	# skip to the next CapsuleResp; return (dw0, status)
    while True:
        ch = recv_exact(s, 8)
        plen = struct.unpack("<I", ch[4:8])[0]
        body = recv_exact(s, plen - 8)
        if ch[0] == 5:
            dw0, = struct.unpack("<I", body[0:4])
            status, = struct.unpack("<H", body[14:16])
            return dw0, status >> 1

def dial():
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s

def connected(qid, cntlid):
    s = dial()
    s.sendall(icreq())
    recv_exact(s, 128)
    s.sendall(capsule(connect_sqe(1, qid, 127 if qid else 31, 0 if qid else 60000),
                      connect_data(cntlid)))
    dw0, st = recv_rsp(s)
    if st:
        sys.exit("connect qid %d: status 0x%x" % (qid, st))
    return s, dw0 & 0xffff

def never_read():
    admin, cntlid = connected(0, 0xffff)
    # CC.EN = 1 with 64-byte SQEs and 16-byte CQEs: I/O queues may connect.
    admin.sendall(capsule(prop_set_sqe(2, 0x14, 1 | 6 << 16 | 4 << 20)))
    if recv_rsp(admin)[1]:
        sys.exit("Property Set CC failed")
    io, _ = connected(1, cntlid)
    # 128 reads of 128 KiB: 16 MiB the target cannot get rid of.
    for cid in range(128):
        io.sendall(capsule(read_sqe(cid, cid * 256, 256)))
    print("ready", flush=True)
    time.sleep(wait_s)
    io.close()
    admin.close()
    print("done: held %d MiB of reads unread for %g s" % (16, wait_s))

def first_bytes():	# what each flood socket sends before it stops
    if mode == "idle":
        return b""
    if mode == "partial-header":
        return icreq() + capsule(connect_sqe(1, 0, 31, 0))[:5]
    if mode == "half-connect":
        return icreq() + capsule(connect_sqe(1, 0, 31, 0), connect_data(0xffff))[:72 + 512]
    sys.exit("unknown mode " + mode)

def flood():
    socks, poll, closed, missed = {}, select.poll(), 0, 0
    for _ in range(count):
        try:
            s = dial()
        except OSError:		# a target at its cap leaves us in the backlog
            missed += 1
            continue
        try:
            s.sendall(first_bytes())
        except OSError:
            pass		# already closed by the target: counted below
        s.setblocking(False)
        socks[s.fileno()] = s
        poll.register(s, select.POLLIN)
    print("ready", flush=True)
    end = time.time() + wait_s
    while socks and time.time() < end:
        for fd, _ in poll.poll(200):
            try:
                data = socks[fd].recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            if data == b"":
                poll.unregister(fd)
                socks.pop(fd).close()
                closed += 1
    print("closed %d of %d%s" % (closed, count - missed,
          " (%d never got through)" % missed if missed else ""), flush=True)

never_read() if mode == "never-read" else flood()
