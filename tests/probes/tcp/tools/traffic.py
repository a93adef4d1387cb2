#!/usr/bin/env python3
"""Traffic for the TCP probe tests: a server and a client, each its own process.

server PORT [--source]        accept forever; sink what arrives (or stream data with --source);
                              --stall: never read, except on a stdin line: drain what is queued
client HOST PORT [options]    wait for a line on stdin ("go"), then connect and send; report JSON

A --stall server takes stdin lines: "shutdown" half-closes every held connection (its FIN sent),
anything else drains them. A client holding connections takes "send N": N more bytes on each.

Every line printed is JSON; the first is {"ready": pid}. A client holding connections keeps
them until stdin closes, then closes them (with SO_LINGER 0 when --rst).
"""
import json, os, resource, selectors, socket, struct, sys, threading, time

resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)

def say(**kw):
    print(json.dumps(kw), flush=True)

def listener(host, port, cc, backlog):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    set_cc(ls, cc)
    ls.bind((host, port))
    ls.listen(backlog)
    return ls

def serve(port, source, host, cc, backlog, accept, workers, nports, echo=False, stall=False):
    ls = listener(host, port, cc, backlog)
    extra = [listener(host, port + i, cc, backlog) for i in range(1, nports)]
    kids = []
    for _ in range(workers):  # pre-forked workers accept and serve; the parent only listened
        pid = os.fork()
        if pid == 0:
            kids = None
            break
        kids.append(pid)
    if kids is not None and workers:
        say(ready=os.getpid(), port=ls.getsockname()[1], workers=kids)
        while True:
            time.sleep(3600)
    if kids is not None:
        say(ready=os.getpid(), port=ls.getsockname()[1])
    if not accept:
        while True:
            time.sleep(3600)
    if source:
        def stream(c):
            buf = b"x" * 65536
            try:
                while True:
                    c.sendall(buf)
            except OSError:
                c.close()
        while True:
            c, _ = ls.accept()
            threading.Thread(target=stream, args=(c,), daemon=True).start()
    # Sink: one thread, many connections (the load test holds thousands).
    sel = selectors.DefaultSelector()
    held = []
    listeners = [ls] + extra
    for l in listeners:
        l.setblocking(False)  # pre-forked workers race for each connection
        sel.register(l, selectors.EVENT_READ)
    if stall:
        sel.register(sys.stdin, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is sys.stdin:
                line = sys.stdin.readline()
                if not line:
                    sel.unregister(sys.stdin)
                    continue
                if line.strip() == "shutdown":
                    for c in held:
                        c.shutdown(socket.SHUT_WR)
                    say(shut=len(held))
                    continue
                n = 0  # drain: the application reads once, no segment arrives
                for c in held:
                    while True:
                        try:
                            d = c.recv(1 << 16)
                        except OSError:
                            break
                        if not d:
                            break
                        n += len(d)
                say(drained=n)
            elif key.fileobj in listeners:
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                try:
                    c.send(b"hello\n")
                except OSError:
                    pass
                c.setblocking(False)
                if stall:
                    held.append(c)  # never read: the receive window closes
                else:
                    sel.register(c, selectors.EVENT_READ)
            else:
                c = key.fileobj
                try:
                    data = c.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(c)
                    c.close()
                elif echo:
                    try:
                        c.send(data)
                    except OSError:
                        pass

def set_cc(s, cc):
    # Loss must show as retransmissions: cubic reacts to it (bbr, the host default, barely).
    if cc:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())

def client(host, port, conns, nbytes, hold, rst, timeout, rate_bps, cc, srcs=(), nports=1, rr=0, send_timeout=0,
           fork=False):
    say(ready=os.getpid())
    sys.stdin.readline()
    if fork:  # --fork: a child does the work at once; the parent waits for it
        told_r, told_w = os.pipe()
        child = os.fork()
        if child:
            say(forked=child)
            # The child speaks only after this line: a line over 4 KB (the ports) reaches the
            # pipe in pieces, and the parent's line could land between them.
            os.write(told_w, b"x")
            os.waitpid(child, 0)
            return
        os.read(told_r, 1)
    socks, errors, ports = [], {}, []
    for i in range(conns):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        if srcs:
            s.bind((srcs[i % len(srcs)], 0))
        set_cc(s, cc)
        if timeout:
            s.settimeout(timeout)
        try:
            s.connect((host, port + i % nports))
        except OSError as e:
            errors[e.__class__.__name__] = errors.get(e.__class__.__name__, 0) + 1
            s.close()
            continue
        s.settimeout(send_timeout or None)
        ports.append(s.getsockname()[1])
        if rr:
            # request/response against an --echo server: it greets with "hello\n", then echoes.
            s.recv(6)
            t0 = time.perf_counter()
            for _ in range(rr):
                s.sendall(b"p")
                s.recv(1)
            say(rr_per_s=rr / (time.perf_counter() - t0))
        if nbytes:
            chunk = b"y" * 65536
            left = nbytes
            while left > 0:
                n = min(left, len(chunk))
                try:
                    s.sendall(chunk[:n])
                except socket.timeout:
                    errors["send_timeout"] = errors.get("send_timeout", 0) + 1
                    break
                left -= n
                if rate_bps:
                    time.sleep(n / rate_bps)
        if hold:
            socks.append(s)
        else:
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
    say(done=True, connected=len(ports), errors=errors, ports=ports[:2000])
    while True:  # hold until told (or stdin closes); "send N" sends N more bytes on each
        line = sys.stdin.readline()
        if not line.startswith("send "):
            break
        n = int(line.split()[1])
        for s in socks:
            s.sendall(b"z" * n)
        say(sent=n)
    for s in socks:
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    say(closed=len(socks))

def main():
    a = sys.argv[1:]
    opt = lambda name, d=None: a[a.index(name) + 1] if name in a else d
    if a[0] == "server":
        serve(int(a[1]), "--source" in a, opt("--host", "0.0.0.0"), opt("--cc"), int(opt("--backlog", "4096")),
              "--no-accept" not in a, int(opt("--workers", "0")),
              int(opt("--ports", "1")), "--echo" in a, "--stall" in a)
    else:
        client(a[1], int(a[2]), int(opt("--conns", "1")), int(opt("--bytes", "0")), "--hold" in a,
               "--rst" in a, float(opt("--timeout", "0")), float(opt("--rate", "0")), opt("--cc"),
               [x for x in opt("--src", "").split(",") if x], int(opt("--ports", "1")), int(opt("--rr", "0")),
               float(opt("--send-timeout", "0")), "--fork" in a)

main()
