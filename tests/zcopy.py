#!/usr/bin/env python3
# tests/zcopy.py - the host side of zcopy_test.sh: reads that the target
# sends from the RAM namespace's own memory (nvmf.c: nvmf_io_in_place),
# checked against the rules written there.
#
#   zcopy.py MODE PORT SUBNQN [RPC_SOCK BDEV]
#
#   tear      one queue asks for 16 MiB of reads of the same 32 blocks and
#             does not read them; while they sit in the target's socket,
#             another queue overwrites the blocks. Every 4 KiB block read
#             must be wholly old or wholly new (AWUN 0h: one block is
#             atomic [NVM-1.0c §2.1.4.1]), and a read after the writes
#             completed must see only new data [NVM-1.0c §2.1.4.2].
#   ddgst     reads on a queue with data digests while another queue keeps
#             rewriting the same blocks: every C2HData digest must match
#             the bytes that came with it [TCP-1.0c §3.3.4].
#   remove    16 MiB of reads unread, then nvmf_subsystem_remove_ns and
#             bdev_malloc_delete over RPC: the removal must wait for the
#             reads' bytes to leave, and every read must arrive whole.
#   stuck     the same, but the reading host never reads: the removal
#             must still succeed (after a grace of a few seconds the
#             target closes that one queue), while another host's
#             controller stays connected and is told Invalid Namespace.
#
# Prints "ok - ..." / "not ok - ..." lines; exits 1 if any check failed.
import os, socket, struct, subprocess, sys, threading, time

mode, port, subnqn = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
HOSTNQN = b"nqn.2014-08.org.nvmexpress:uuid:2c0c0000-0000-4000-8000-000000000001"
BS, NBLK = 4096, 32			# the namespace has 4 KiB blocks
failed = 0

def check(what, ok, detail=""):
    global failed
    print(("ok - " if ok else "not ok - ") + what + ("" if ok else ": " + detail), flush=True)
    failed += 0 if ok else 1

# CRC32C (Castagnoli, reflected 0x82F63B78), seed ~0, result inverted.
CRC_TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    CRC_TABLE.append(c)

def crc32c(data):
    c = 0xffffffff
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff

def recv_exact(s, n):
    b = bytearray()
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed by the target")
        b += c
    return bytes(b)

class Queue:
    """One NVMe/TCP connection, no header digest; ddgst if asked."""
    def __init__(self, qid, cntlid, ddgst=False, rcvbuf=0):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(60)
        self.s.connect(("127.0.0.1", port))
        self.ddgst = ddgst
        # ICReq [TCP-1.0c Fig. 26]: PFV 0, HPDA 0, DGST bit 1 = DDGST
        self.s.sendall(struct.pack("<BBBBIHBBI", 0, 0, 128, 0, 128, 0, 0,
                                   2 if ddgst else 0, 0).ljust(128, b"\0"))
        recv_exact(self.s, 128)
        sqe = struct.pack("<BBHB", 0x7f, 0x40, 1, 0x01).ljust(24, b"\0")
        sqe += struct.pack("<QI3xB", 0, 1024, 0x01)
        sqe += struct.pack("<HHHBxI", 0, qid, 127 if qid else 31, 0, 0 if qid else 60000)
        data = (b"\x5a" * 16 + struct.pack("<H", cntlid)).ljust(256, b"\0")
        data += subnqn.ljust(256, b"\0") + HOSTNQN.ljust(512, b"\0")
        self.cmd(sqe.ljust(64, b"\0"), data)
        st, dw0 = self.wait()[:2]
        if st:
            sys.exit("connect qid %d: status 0x%x" % (qid, st))
        self.cntlid = dw0 & 0xffff

    def cmd(self, sqe, data=b""):
        """CapsuleCmd [TCP-1.0c §3.6.2.3] with in-capsule data."""
        flags = 0x02 if data and self.ddgst else 0
        dd = struct.pack("<I", crc32c(data)) if flags else b""
        hdr = struct.pack("<BBBBI", 4, flags, 72, 72 if data else 0,
                          72 + len(data) + len(dd))
        self.s.sendall(hdr + sqe + data + dd)

    def wait(self):
        """The next CapsuleResp: (status, dw0, cid, data of C2HData before
        it, digest errors seen)."""
        data, bad = bytearray(), 0
        while True:
            ch = recv_exact(self.s, 8)
            typ, flags, hlen, pdo, plen = struct.unpack("<BBBBI", ch)
            body = ch + recv_exact(self.s, plen - 8)
            if typ == 7:			# C2HData
                datal, = struct.unpack("<I", body[16:20])
                d = body[pdo:pdo + datal]
                if flags & 0x02:
                    got, = struct.unpack("<I", body[pdo + datal:pdo + datal + 4])
                    bad += got != crc32c(d)
                data += d
                if flags & 0x08:		# SUCCESS: no CapsuleResp follows
                    return 0, 0, struct.unpack("<H", body[8:10])[0], bytes(data), bad
            elif typ == 5:			# CapsuleResp
                dw0, = struct.unpack("<I", body[8:12])
                cid, status = struct.unpack("<HH", body[20:24])
                return status >> 1, dw0, cid, bytes(data), bad
            else:
                sys.exit("unexpected PDU type %d" % typ)

def rw_sqe(opc, cid, slba, nlb, icd):
    sqe = struct.pack("<BBHI", opc, 0x40, cid, 1).ljust(24, b"\0")
    sgl = 0x01 if icd else 0x5a			# in-capsule, or by R2T/C2HData
    sqe += struct.pack("<QI3xB", 0, nlb * BS, sgl)
    return (sqe + struct.pack("<QI", slba, nlb - 1)).ljust(64, b"\0")

def write_blocks(q, pattern):
    """Write block i with bytes pattern(i), one 4 KiB in-capsule write each."""
    for i in range(NBLK):
        q.cmd(rw_sqe(0x01, i, i, 1, True), bytes([pattern(i)]) * BS)
        st = q.wait()[0]
        if st:
            sys.exit("write of block %d: status 0x%x" % (i, st))

def read_blocks(q, cid=0):
    q.cmd(rw_sqe(0x02, cid, 0, NBLK, False))
    return q.wait()

OLD = lambda i: i
NEW = lambda i: 0x80 | i

def up(ddgst=False, rcvbuf=0):
    admin = Queue(0, 0xffff)
    # Property Set CC: EN, 64-byte SQEs, 16-byte CQEs
    sqe = struct.pack("<BBHB", 0x7f, 0x40, 2, 0x00).ljust(40, b"\0")
    admin.cmd((sqe + struct.pack("<B3xIQ", 0, 0x14, 1 | 6 << 16 | 4 << 20)).ljust(64, b"\0"))
    if admin.wait()[0]:
        sys.exit("Property Set CC failed")
    return admin, admin.cntlid

def torn(data):
    """Blocks of one read that are neither wholly old nor wholly new."""
    n = 0
    for i in range(NBLK):
        blk = data[i * BS:(i + 1) * BS]
        if blk.count(blk[0]) != BS or blk[0] not in (OLD(i), NEW(i)):
            n += 1
    return n

def test_tear():
    admin, cntlid = up()
    writer = Queue(1, cntlid)
    reader = Queue(2, cntlid, rcvbuf=65536)
    write_blocks(writer, OLD)
    for cid in range(128):			# 16 MiB the target cannot send yet
        reader.cmd(rw_sqe(0x02, cid, 0, NBLK, False))
    time.sleep(0.5)				# let it fill the socket
    write_blocks(writer, NEW)			# completed before we read on
    n_torn = n_old = n_new = n_bad = 0
    for _ in range(128):
        st, _, _, data, _ = reader.wait()
        n_bad += st != 0 or len(data) != NBLK * BS
        n_torn += torn(data)
        n_old += data[0] == OLD(0)
        n_new += data[-1] == NEW(NBLK - 1)
    check("128 reads of 128 KiB, outstanding with the writes, all complete", n_bad == 0,
          "%d failed or short" % n_bad)
    check("no block of them is torn (one block is atomic, AWUN 0h)", n_torn == 0,
          "%d torn blocks" % n_torn)
    check("the reads held back saw the new data (%d old-first, %d new-last)" % (n_old, n_new),
          n_new > 0)
    st, _, _, data, _ = read_blocks(reader)
    check("a read after the writes completed sees only the new data",
          st == 0 and data == b"".join(bytes([NEW(i)]) * BS for i in range(NBLK)))

def test_ddgst():
    admin, cntlid = up()
    writer = Queue(1, cntlid)
    reader = Queue(2, cntlid, ddgst=True)
    write_blocks(writer, OLD)
    st, _, _, data, bad = read_blocks(reader)
    check("a read with data digest on returns the data",
          st == 0 and data == b"".join(bytes([OLD(i)]) * BS for i in range(NBLK)))
    check("and its C2HData digest matches", bad == 0)
    stop, bad_total, reads = [False], 0, 0
    def rewrite():
        k = 0
        while not stop[0]:
            write_blocks(writer, OLD if k & 1 else NEW)
            k += 1
    th = threading.Thread(target=rewrite)
    th.start()
    try:
        for cid in range(200):			# reads racing the rewrites
            st, _, _, data, bad = read_blocks(reader, cid % 100)
            bad_total += bad + (st != 0)
            reads += 1
    finally:
        stop[0] = True
        th.join()
    check("%d digested reads racing rewrites of the same blocks: every digest matches" % reads,
          bad_total == 0, "%d bad" % bad_total)

def test_remove(sock, bdev):
    admin, cntlid = up()
    writer = Queue(1, cntlid)
    reader = Queue(2, cntlid, rcvbuf=65536)
    write_blocks(writer, NEW)
    for cid in range(128):
        reader.cmd(rw_sqe(0x02, cid, 0, NBLK, False))
    time.sleep(0.5)
    rpc = [os.environ.get("NVMF", "./nvmf"), "rpc", "-s", sock]
    rm = subprocess.Popen(rpc + ["nvmf_subsystem_remove_ns", subnqn.decode(), "1"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    # bdev_malloc_delete waits behind it: the RPC server runs one at a time.
    rmb = subprocess.Popen(rpc + ["bdev_malloc_delete", bdev],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    check("the removal waits while reads sent from the namespace are unread",
          rm.poll() is None, "it returned %s" % rm.poll())
    good = 0
    try:
        for _ in range(128):
            st, _, _, data, _ = reader.wait()
            good += st == 0 and data == b"".join(bytes([NEW(i)]) * BS for i in range(NBLK))
    except (EOFError, OSError) as e:
        print("    reader: %s" % e)
    check("all 128 reads arrive whole and right while the namespace goes", good == 128,
          "%d of 128" % good)
    out = rm.communicate(timeout=60)[0].decode()
    check("nvmf_subsystem_remove_ns then succeeds", rm.returncode == 0, out)
    out = rmb.communicate(timeout=60)[0].decode()
    check("and bdev_malloc_delete frees the memory", rmb.returncode == 0, out)
    st = read_blocks(writer)[0]
    check("a read of the removed namespace: Invalid Namespace (0Bh)", (st & 0xff) == 0x0b,
          "status 0x%x" % st)

def test_stuck(sock, bdev):
    admin, cntlid = up()
    reader = Queue(1, cntlid, rcvbuf=65536)
    for cid in range(128):
        reader.cmd(rw_sqe(0x02, cid, 0, NBLK, False))
    admin2, cntlid2 = up()
    honest = Queue(1, cntlid2)
    time.sleep(0.5)
    rpc = [os.environ.get("NVMF", "./nvmf"), "rpc", "-s", sock]
    rm = subprocess.run(rpc + ["nvmf_subsystem_remove_ns", subnqn.decode(), "1"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
    check("nvmf_subsystem_remove_ns succeeds though a host never reads its reads",
          rm.returncode == 0, rm.stdout.decode())
    closed = False
    try:
        reader.s.settimeout(10)
        while reader.s.recv(1 << 20):
            pass
        closed = True
    except OSError as e:		# ECONNRESET: also closed by the target
        closed = "timed out" not in str(e)
    check("the target closed the queue that did not read", closed)
    st = read_blocks(honest)[0]
    check("another host's queue carries on: a read is told Invalid Namespace (0Bh)",
          (st & 0xff) == 0x0b, "status 0x%x" % st)
    rmb = subprocess.run(rpc + ["bdev_malloc_delete", bdev],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    check("bdev_malloc_delete frees the memory", rmb.returncode == 0, rmb.stdout.decode())

if mode == "tear":
    test_tear()
elif mode == "ddgst":
    test_ddgst()
elif mode == "remove":
    test_remove(sys.argv[4], sys.argv[5])
elif mode == "stuck":
    test_stuck(sys.argv[4], sys.argv[5])
else:
    sys.exit("unknown mode " + mode)
sys.exit(1 if failed else 0)
