"""One slixmpp client under the command of a Go test (interop/im_test.go).

Run with Debian's /usr/bin/python3 and python3-slixmpp:

  im.py --jid alice@localhost --password secret --timeout 60

The process holds one client (one XMPP connection) for its whole life, so
that the Go test can end the connection without a goodbye by killing the
process. It reads one JSON command per line on stdin and answers each
with one JSON object per line on stdout, in order:

  {"op": "login", "host": ..., "port": ..., "cafile": ..., "register": bool,
   "presence": bool}
      connects with STARTTLS, registers the account in band first when
      register is true (XEP-0077), logs in with SCRAM and binds; sends
      initial presence when presence is true. Answers what slix.py
      reports about a client (mechanism, TLS, bound JID, ...).
  {"op": "presence", "to": JID, "type": TYPE, "status": TEXT}
      sends a presence stanza; every field may be left out.
  {"op": "message", "to": JID, "body": TEXT, "type": TYPE}
      sends a message.
  {"op": "wait", "kind": "presence"|"message"|"iq", "from": JID, "type": TYPE}
      answers the first stanza of that kind received since the client
      connected, and not answered by an earlier wait, from that JID (a
      bare JID matches any of its resources) and of that type (for
      presence, "available" is no type attribute); waits for it if it has
      not come yet. "from" and "type" may be left out.
  {"op": "roster"}
      fetches the roster (RFC 6121 §2.2) and answers slixmpp's client_roster.
  {"op": "blocklist"} / {"op": "block", "jid": JID} / {"op": "unblock", "jid": JID}
      XEP-0191 through slixmpp's xep_0191 plugin.
  {"op": "quit"}
      closes the stream, waits for the server to close its own, and exits.

Every command may carry "timeout" (seconds, default 10); a command that
has not finished by then is answered {"ok": false, "error": ...}. Answers
carry "ok" and, when it is false, "error". Received stanzas are answered
as {"from", "to", "type", "body", "status", "delay": {"stamp", "from",
"text"}, "error": {"type", "condition"}, "items"}, with the fields they
have. The whole process ends after --timeout seconds, and at the end of
its input. slixmpp's debug log (the XML sent and received) goes to stderr.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import threading

# slix.py sits beside this script; -I leaves the script's folder off the
# path, and nothing here should leave bytecode in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

from slix import Client  # noqa: E402  (found through the path above)
from slixmpp.xmlstream.handler import Callback  # noqa: E402
from slixmpp.xmlstream.matcher import StanzaPath  # noqa: E402

log = logging.getLogger("im")

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
DELAY = "{urn:xmpp:delay}delay"
BLOCKING = "urn:xmpp:blocking"


class Agent:
    """One client and what it has received."""

    def __init__(self, jid, password):
        self.jid = jid
        self.password = password
        self.client = None
        self.received = []  # every stanza seen, as dicts, with "kind"
        self.arrived = asyncio.Event()

    def record(self, kind, stanza):
        xml = stanza.xml
        ns = "{" + xml.tag[1:].split("}")[0] + "}" if xml.tag.startswith("{") else ""
        d = {
            "kind": kind,
            "from": xml.get("from", ""),
            "to": xml.get("to", ""),
            "type": xml.get("type", "available" if kind == "presence" else ""),
        }
        for name in ("body", "status"):
            el = xml.find(ns + name)
            if el is not None:
                d[name] = el.text or ""
        delay = xml.find(DELAY)
        if delay is not None:
            d["delay"] = {"stamp": delay.get("stamp", ""), "from": delay.get("from", ""),
                          "text": delay.text or ""}
        err = xml.find(ns + "error")
        if err is not None:
            conds = [c.tag.split("}")[1] for c in err if c.tag.startswith("{" + STANZAS + "}") and c.tag != "{%s}text" % STANZAS]
            d["error"] = {"type": err.get("type", ""), "condition": conds[0] if conds else ""}
        for name in ("block", "unblock"):
            el = xml.find("{%s}%s" % (BLOCKING, name))
            if el is not None:
                d["push"] = name
                d["items"] = [i.get("jid", "") for i in el]
        self.received.append(d)
        self.arrived.set()

    def _blocking_push(self, iq):
        # XEP-0191 §3.3: a push is an IQ set from the user's bare JID; a
        # client answers it. slixmpp's plugin only fires an event.
        self.record("iq", iq)
        iq.reply().send()

    async def login(self, req):
        c = Client(self.jid, self.password, req["cafile"],
                   register=req.get("register", False),
                   initial_presence=req.get("presence", True))
        # Answer nothing on the user's behalf: the test drives every step
        # of the subscription handshake (RFC 6121 §3).
        c.auto_authorize = None
        c.auto_subscribe = False
        c.register_plugin("xep_0191")
        c.register_handler(Callback("im presence", StanzaPath("presence"),
                                    lambda p: self.record("presence", p)))
        c.register_handler(Callback("im message", StanzaPath("message"),
                                    lambda m: self.record("message", m)))
        c.add_event_handler("blocked", self._blocking_push)
        c.add_event_handler("unblocked", self._blocking_push)
        self.client = c
        await c.start(req["host"], int(req["port"]))
        return dict(c.result)

    async def wait(self, req):
        kind, frm, typ = req["kind"], req.get("from"), req.get("type")

        def matches(d):
            if d.get("taken") or d["kind"] != kind:
                return False
            if typ is not None and d["type"] != typ:
                return False
            if frm is not None and d["from"] != frm and ("/" in frm or d["from"].split("/")[0] != frm):
                return False
            return True

        while True:
            for d in self.received:
                if matches(d):
                    d["taken"] = True
                    return {"stanza": {k: v for k, v in d.items() if k != "taken"}}
            self.arrived.clear()
            await self.arrived.wait()

    async def run(self, req):
        op = req["op"]
        c = self.client
        if op == "login":
            return await self.login(req)
        if c is None:
            raise RuntimeError("not logged in")
        if op == "presence":
            kw = {}
            if req.get("to"):
                kw["pto"] = req["to"]
            if req.get("type") and req["type"] != "available":
                kw["ptype"] = req["type"]
            if req.get("status"):
                kw["pstatus"] = req["status"]
            c.send_presence(**kw)
            return {}
        if op == "message":
            c.send_message(mto=req["to"], mbody=req["body"], mtype=req.get("type", "chat"))
            return {}
        if op == "wait":
            return await self.wait(req)
        if op == "roster":
            await c.get_roster(timeout=req.get("timeout", 10))
            roster = {}
            for jid in c.client_roster:
                item = c.client_roster[jid]
                roster[str(jid)] = {"subscription": item["subscription"],
                                    "pending_out": item["pending_out"]}
            return {"roster": roster}
        if op == "blocklist":
            iq = await c["xep_0191"].get_blocked(timeout=req.get("timeout", 10))
            return {"items": sorted(str(j) for j in iq["blocklist"]["items"])}
        if op == "block":
            await c["xep_0191"].block(req["jid"], timeout=req.get("timeout", 10))
            return {}
        if op == "unblock":
            await c["xep_0191"].unblock(req["jid"], timeout=req.get("timeout", 10))
            return {}
        if op == "quit":
            await c.stop()
            return {}
        raise ValueError("unknown op %r" % op)


def read_stdin(loop, queue):
    """Feed stdin's lines to the loop; None at the end of input."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def serve(agent):
    queue = asyncio.Queue()
    loop = asyncio.get_running_loop()
    threading.Thread(target=read_stdin, args=(loop, queue), daemon=True).start()
    while True:
        line = await queue.get()
        if line is None:
            break
        req = json.loads(line)
        limit = float(req.get("timeout", 10))
        try:
            res = await asyncio.wait_for(agent.run(req), limit)
            res["ok"] = True
        except asyncio.TimeoutError:
            res = {"ok": False, "error": "%s: %s timed out after %gs" % (agent.jid, json.dumps(req), limit)}
        except Exception as e:  # reported to the Go test, which fails on it
            log.exception("%s failed", req["op"])
            res = {"ok": False, "error": "%s: %s: %r" % (agent.jid, req["op"], e)}
        print(json.dumps(res), flush=True)
        if req["op"] == "quit":
            return


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    agent = Agent(args.jid, args.password)
    status = 0
    try:
        loop.run_until_complete(asyncio.wait_for(serve(agent), args.timeout))
    except asyncio.TimeoutError:
        log.error("%s: gave up after %gs", args.jid, args.timeout)
        status = 1
    if agent.client is not None and agent.client.transport:
        agent.client.abort()
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    return status


if __name__ == "__main__":
    sys.exit(main())
